/**
 * What the consumer accepts as the sender's record of a payload (inline envelope or S3 object
 * metadata) and as base64 input: only exact byte counts, only strict base64, at any size the
 * sender can be invoked with.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { BINARY_INPUT_KEY, SYNC_PAYLOAD_LIMIT_BYTES } from "./contract.ts";
import { InvalidPayloadError, parseMeta, payloadFromEvent, sha256Hex, type PayloadMeta } from "./payload-codec.ts";
import { fromObjectMetadata, toObjectMetadata } from "./payload-object.ts";

const meta: PayloadMeta = { id: "6f1c2a9e-1111-4222-8333-444455556666", format: "json", size: 2, sha256: sha256Hex(Buffer.from("{}")), sentAt: "2026-11-23T18:00:00.000Z" };
const sizeError = (value: unknown) => (e: Error) => e instanceof InvalidPayloadError && e.message.includes(`.size is ${JSON.stringify(value)}; expected a byte count`);

describe("payload size in the sender's record", () => {
  test("inline envelope: a fractional, negative, unsafe or non-numeric size is refused", () => {
    for (const size of [1.5, -1, 2 ** 53, Number.MAX_VALUE, "2.0", "-2", true, null]) {
      assert.throws(() => parseMeta({ v: 1, ...meta, size }, "lambdaS3AsyncPayload"), sizeError(size), `size ${String(size)}`);
    }
    assert.equal(parseMeta({ v: 1, ...meta, size: 2 ** 53 - 1 }, "x").size, 2 ** 53 - 1, "the largest safe integer is a byte count");
  });

  test("object metadata: only plain decimal digits of a safe integer are a size", () => {
    const md = toObjectMetadata(meta);
    for (const size of ["1.5", "-1", "1e3", "0x10", " 2", "2 ", "", "9007199254740993", "Infinity"]) {
      assert.throws(() => fromObjectMetadata({ ...md, "payload-size": size }, "s3://b/k"), sizeError(size), `size ${JSON.stringify(size)}`);
    }
    assert.equal(fromObjectMetadata({ ...md, "payload-size": "0" }, "s3://b/k").size, 0);
  });
});

describe("$base64 input", () => {
  test("decodes strict, padded base64 of any length and refuses anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const b64 = Buffer.from(raw).toString("base64");
        assert.deepEqual(new Uint8Array(payloadFromEvent({ [BINARY_INPUT_KEY]: b64 }).bytes), raw);
        if (b64.length > 0) {
          // Padding out of place, a character outside the alphabet (base64url's "-"), a space,
          // or missing padding: Buffer.from would quietly decode some other bytes; refused.
          const bad = [`=${b64.slice(1)}`, `-${b64.slice(1)}`, `${b64} `, `${b64}====`];
          if (b64.endsWith("=")) bad.push(b64.replace(/=+$/, ""));
          for (const text of bad) {
            assert.throws(() => payloadFromEvent({ [BINARY_INPUT_KEY]: text }), /is not valid base64/, JSON.stringify(text));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test("the largest binary payload a synchronous invoke can carry decodes (no regexp stack overflow)", () => {
    const bytes = Buffer.alloc(Math.floor((SYNC_PAYLOAD_LIMIT_BYTES - 14) / 4) * 3, 0xa5);
    const { bytes: decoded, format } = payloadFromEvent({ [BINARY_INPUT_KEY]: bytes.toString("base64") });
    assert.equal(format, "binary");
    assert.ok(decoded.equals(bytes));
  });
});
