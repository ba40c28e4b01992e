import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { brotliCompressSync, constants } from "node:zlib";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  compressWithin,
  CorruptCompressedPayloadError,
  decompressExact,
  DecompressedSizeMismatchError,
  DecompressionBombError,
  PAYLOAD_ENCODING,
  TrailingCompressedBytesError,
} from "./compression.ts";
import { COMPRESSED_PAYLOAD_MAX_BYTES } from "./contract.ts";

/** Bytes from barely to highly compressible: a random motif repeated, with random noise mixed in. */
const payloadBytes = fc
  .record({ motif: fc.uint8Array({ minLength: 1, maxLength: 64 }), length: fc.nat({ max: 40_000 }), noise: fc.double({ min: 0, max: 1, noNaN: true }), seed: fc.nat() })
  .map(({ motif, length, noise, seed }) => {
    const bytes = new Uint8Array(length);
    let state = seed;
    for (let i = 0; i < length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      bytes[i] = state / 2 ** 32 < noise ? state >>> 24 : motif[i % motif.length]!;
    }
    return bytes;
  });

async function full(bytes: Uint8Array): Promise<Buffer> {
  const out = await compressWithin(bytes, Number.POSITIVE_INFINITY);
  assert.ok(out.fits);
  return out.bytes;
}

describe("compression", () => {
  test("round-trips exact bytes, whatever their compressibility", async () => {
    await fc.assert(
      fc.asyncProperty(payloadBytes, async (bytes) => {
        const back = decompressExact(await full(bytes), PAYLOAD_ENCODING, bytes.length, COMPRESSED_PAYLOAD_MAX_BYTES);
        assert.deepEqual(new Uint8Array(back), bytes);
      }),
      { numRuns: 60 },
    );
  });

  test("giving up early never changes the answer: the output fits the budget exactly when the complete output does", async () => {
    await fc.assert(
      fc.asyncProperty(payloadBytes, fc.integer({ min: -3, max: 3 }), async (bytes, delta) => {
        const complete = await full(bytes);
        const budget = complete.length + delta;
        const out = await compressWithin(bytes, budget);
        assert.equal(out.fits, complete.length <= budget);
        if (out.fits) assert.deepEqual(out.bytes, complete, "the same bytes as compressing without a budget");
      }),
      { numRuns: 60 },
    );
  });

  test("an incompressible payload is compressed only until the output passes the budget, not to the end", async () => {
    const bytes = randomBytes(4 * 1_048_576);
    const budget = 786_000;
    const out = await compressWithin(bytes, budget);
    assert.equal(out.fits, false);
    if (!out.fits) {
      assert.ok(out.producedBytes > budget);
      assert.ok(out.producedBytes <= budget + 64 * 1024, `stopped after ${out.producedBytes} bytes of output, within one chunk of the budget`);
    }
  });

  test("a bomb (tiny body, huge output) is refused by name, before and while inflating", () => {
    const huge = Buffer.alloc(32 * 1_048_576);
    const bomb = brotliCompressSync(huge, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
    assert.ok(bomb.length < 8192, `the bomb is ${bomb.length} bytes`);
    // Honest about its size: refused before inflating, because it is over the cap.
    assert.throws(() => decompressExact(bomb, "br", huge.length, COMPRESSED_PAYLOAD_MAX_BYTES), (e: Error) => e instanceof DecompressionBombError && /more than the 16777216 bytes/.test(e.message));
    // Lying about its size: refused once the output passes the recorded size.
    assert.throws(() => decompressExact(bomb, "br", 1000, COMPRESSED_PAYLOAD_MAX_BYTES), (e: Error) => e.name === "DecompressionBombError" && /more than the 1000 bytes the sender recorded/.test(e.message));
  });

  test("a size that overstates the output, a corrupt body and an unknown encoding are refused by name", () => {
    const body = brotliCompressSync(Buffer.from("hello, world"));
    assert.throws(() => decompressExact(body, "br", 13, COMPRESSED_PAYLOAD_MAX_BYTES), (e: Error) => e instanceof DecompressedSizeMismatchError && /expands to 12 bytes; the sender recorded 13/.test(e.message));
    assert.throws(() => decompressExact(body.subarray(0, body.length - 2), "br", 12, COMPRESSED_PAYLOAD_MAX_BYTES), CorruptCompressedPayloadError);
    assert.throws(() => decompressExact(Buffer.from("not brotli at all"), "br", 12, COMPRESSED_PAYLOAD_MAX_BYTES), CorruptCompressedPayloadError);
    assert.throws(() => decompressExact(body, "gzip" as "br", 12, COMPRESSED_PAYLOAD_MAX_BYTES), /Unknown encoding "gzip"/);
    assert.equal(decompressExact(brotliCompressSync(Buffer.alloc(0)), "br", 0, COMPRESSED_PAYLOAD_MAX_BYTES).length, 0);
  });

  test("bytes after the end of a valid brotli stream are refused by name, however few", () => {
    const text = Buffer.from("hello, world ".repeat(100));
    const body = brotliCompressSync(text);
    assert.equal(decompressExact(body, "br", text.length, COMPRESSED_PAYLOAD_MAX_BYTES).toString(), text.toString(), "the body alone decodes");
    for (const trailing of [Buffer.from([0]), Buffer.from("garbage"), body]) {
      assert.throws(
        () => decompressExact(Buffer.concat([body, trailing]), "br", text.length, COMPRESSED_PAYLOAD_MAX_BYTES),
        (e: Error) => e instanceof TrailingCompressedBytesError && e.message.includes(`has ${trailing.length} bytes after the end of its br stream`),
      );
    }
    const empty = brotliCompressSync(Buffer.alloc(0));
    assert.throws(() => decompressExact(Buffer.concat([empty, Buffer.from("x")]), "br", 0, COMPRESSED_PAYLOAD_MAX_BYTES), TrailingCompressedBytesError);
  });
});
