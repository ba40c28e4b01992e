import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { eventOfVaryingCompressibility, jsonEvent } from "../test/arbitraries.ts";
import { compressWithin, DecompressionBombError, DecompressedSizeMismatchError } from "./compression.ts";
import { BINARY_INPUT_KEY, INLINE_ENVELOPE_KEY } from "./contract.ts";
import {
  decodeInlineEvent,
  fitInline,
  inlineEnvelope,
  InvalidPayloadError,
  isInlineEvent,
  payloadFromEvent,
  sha256Hex,
  type PayloadMeta,
} from "./payload-codec.ts";

function metaFor(bytes: Uint8Array, format: PayloadMeta["format"]): PayloadMeta {
  return { id: "00000000-0000-4000-8000-000000000000", format, size: bytes.length, sha256: sha256Hex(bytes), sentAt: "2026-11-23T18:00:00.000Z" };
}

/** What the consumer sees: the body after the Lambda runtime's JSON.parse. */
function roundTrip(event: unknown) {
  const { bytes, format } = payloadFromEvent(event);
  const envelope = inlineEnvelope(metaFor(bytes, format), bytes);
  const body = envelope.body();
  assert.equal(envelope.size, body.length, "envelope.size must equal the body's byte length");
  const received = JSON.parse(body.toString("utf8")) as unknown;
  return { sent: bytes, received: decodeInlineEvent(received).bytes, body };
}

describe("payload codec", () => {
  test("JSON events come back byte-identical through the inline envelope", () => {
    fc.assert(
      fc.property(jsonEvent, (event) => {
        const { sent, received } = roundTrip(event);
        assert.deepEqual(received, sent);
        assert.equal(sent.toString("utf8"), JSON.stringify(event));
      }),
      { numRuns: 500 },
    );
  });

  test("arbitrary binary comes back byte-identical through base64", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (raw) => {
        const { sent, received } = roundTrip({ [BINARY_INPUT_KEY]: Buffer.from(raw).toString("base64") });
        assert.deepEqual(new Uint8Array(sent), raw);
        assert.deepEqual(new Uint8Array(received), raw);
      }),
      { numRuns: 300 },
    );
  });

  test("JSON payloads are embedded verbatim, not escaped as a string", () => {
    const { body, sent } = roundTrip({ key: "value", n: [1, 2] });
    assert.ok(body.includes(sent), "payload bytes appear verbatim in the body");
    assert.ok(!body.toString().includes('\\"key\\"'), "payload is not a JSON string inside JSON");
  });

  test("the envelope is recognised and carries its marker key", () => {
    const { body } = roundTrip({ a: 1 });
    const parsed = JSON.parse(body.toString()) as unknown;
    assert.ok(isInlineEvent(parsed));
    assert.ok(INLINE_ENVELOPE_KEY in (parsed as object));
    assert.ok(!isInlineEvent({ Records: [] }));
    assert.ok(!isInlineEvent([INLINE_ENVELOPE_KEY]));
  });

  test("a tampered inline payload is rejected, naming the sha256 mismatch", () => {
    const { body } = roundTrip({ amount: 100 });
    const tampered = JSON.parse(body.toString().replace('"amount":100', '"amount":900')) as unknown;
    assert.throws(() => decodeInlineEvent(tampered), (e: Error) => e instanceof InvalidPayloadError && /sha256 [0-9a-f]{64}; the sender recorded/.test(e.message));
  });

  test("a size mismatch is rejected before hashing", () => {
    const { body } = roundTrip({ amount: 100 });
    const tampered = JSON.parse(body.toString().replace('"amount":100', '"amount":1000')) as unknown;
    assert.throws(() => decodeInlineEvent(tampered), /is 15 bytes; the sender recorded 14/);
  });

  test("invalid base64 input is refused instead of silently dropping characters", () => {
    // "YR==" has non-zero padding bits: it would decode to the same byte as "YQ==".
    for (const bad of ["abc", "ab!=", "a===", "YWJj\n", " YWJj", "YR==", "YW-j", "YW_j"]) {
      assert.throws(() => payloadFromEvent({ [BINARY_INPUT_KEY]: bad }), /event\.\$base64 is not valid base64/);
    }
    assert.throws(() => payloadFromEvent({ [BINARY_INPUT_KEY]: 42 }), /must be a base64 string, got number/);
    // Large input is checked in linear time (a regular expression here overflowed the stack).
    const large = randomBytes(5 * 1_048_576);
    assert.deepEqual(payloadFromEvent({ [BINARY_INPUT_KEY]: large.toString("base64") }).bytes, large);
    // With another key beside it, the object is an ordinary JSON payload.
    assert.equal(payloadFromEvent({ [BINARY_INPUT_KEY]: "abc", other: 1 }).format, "json");
  });

  test("malformed envelopes get errors that name the field", () => {
    const good = JSON.parse(roundTrip({ a: 1 }).body.toString()) as Record<string, Record<string, unknown>>;
    const withMeta = (patch: Record<string, unknown>) => ({ ...good, [INLINE_ENVELOPE_KEY]: { ...good[INLINE_ENVELOPE_KEY], ...patch } });
    assert.throws(() => decodeInlineEvent(withMeta({ v: 3 })), /lambdaS3AsyncPayload\.v is 3; this consumer reads versions 1 and 2/);
    assert.throws(() => decodeInlineEvent(withMeta({ v: 2 })), /lambdaS3AsyncPayload\.encoding is undefined; expected "br"/);
    assert.throws(() => decodeInlineEvent(withMeta({ v: 2, encoding: "gzip" })), /\.encoding is "gzip"; expected "br"/);
    assert.throws(() => decodeInlineEvent(withMeta({ sha256: "xyz" })), /\.sha256 is "xyz"; expected 64 lowercase hex digits/);
    assert.throws(() => decodeInlineEvent(withMeta({ format: "xml" })), /\.format is "xml"/);
    assert.throws(() => decodeInlineEvent(withMeta({ size: -1 })), /\.size is -1/);
    assert.throws(() => decodeInlineEvent(withMeta({ id: undefined })), /\.id is missing/);
    assert.throws(() => decodeInlineEvent({ [INLINE_ENVELOPE_KEY]: "x", payload: 1 }), /must be an object, got string/);
    assert.throws(() => decodeInlineEvent({ [INLINE_ENVELOPE_KEY]: good[INLINE_ENVELOPE_KEY] }), /has no payload property/);
  });

  test("an event that is not JSON-serializable is refused", () => {
    assert.throws(() => payloadFromEvent(undefined), /not a JSON value/);
  });
});

/** What the consumer sees of a body, decoded. */
function received(body: Buffer) {
  return decodeInlineEvent(JSON.parse(body.toString("utf8")) as unknown);
}

const LIMIT = 6144;

describe("compression that keeps payloads inline", () => {
  test("payloads across the compression threshold round-trip with exact bytes; the compressed route is taken exactly when only compression makes the event fit", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(eventOfVaryingCompressibility(LIMIT - 2048, LIMIT + 2048), async (event) => {
        const { bytes, format } = payloadFromEvent(event);
        const meta = metaFor(bytes, format);
        const fit = await fitInline(meta, bytes, { limitBytes: LIMIT, compress: true });

        // The expectation, from the documented wire format and a complete compression.
        const plainSize = inlineEnvelope(meta, bytes).size;
        const complete = await compressWithin(bytes, Number.POSITIVE_INFINITY);
        assert.ok(complete.fits);
        const compressedHead = `{"${INLINE_ENVELOPE_KEY}":${JSON.stringify({ v: 2, ...meta, encoding: "br" })},"payload":"`;
        const compressedSize = Buffer.byteLength(compressedHead) + complete.bytes.toString("base64").length + 2;
        const expected = plainSize <= LIMIT ? "inline" : compressedSize <= LIMIT ? "inline-br" : "too-large";
        const actual = !fit.fits ? "too-large" : "encoding" in fit.envelope ? "inline-br" : "inline";
        seen.add(actual);
        assert.equal(actual, expected, `plain ${plainSize}, compressed ${compressedSize}, limit ${LIMIT}`);

        if (!fit.fits) {
          assert.equal(fit.inlineSize, plainSize);
          assert.equal(fit.compressionTried, true, "compressed once before giving up");
          return;
        }
        const body = fit.envelope.body();
        assert.equal(body.length, fit.envelope.size, "the size is the exact byte length of the body");
        assert.ok(body.length <= LIMIT);
        const out = received(body);
        assert.deepEqual(out.bytes, bytes, "the consumer gets the exact bytes");
        assert.equal(out.encoding, actual === "inline-br" ? "br" : undefined);
        if (actual === "inline-br") assert.equal(body.length, compressedSize);
      }),
      { numRuns: 150, seed: process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED) },
    );
    assert.deepEqual([...seen].sort(), ["inline", "inline-br", "too-large"], "every route was exercised");
  });

  test("compression is never tried when it cannot change the route", async () => {
    const small = payloadFromEvent({ data: "x".repeat(100) });
    const big = payloadFromEvent({ data: "x".repeat(10_000) });
    const fits = await fitInline(metaFor(small.bytes, "json"), small.bytes, { limitBytes: LIMIT, compress: true });
    assert.ok(fits.fits && !("encoding" in fits.envelope), "a payload that fits as it is goes as it is");
    const off = await fitInline(metaFor(big.bytes, "json"), big.bytes, { limitBytes: LIMIT, compress: false });
    assert.deepEqual(off, { fits: false, inlineSize: inlineEnvelope(metaFor(big.bytes, "json"), big.bytes).size, compressionTried: false });
    const noRoom = await fitInline(metaFor(big.bytes, "json"), big.bytes, { limitBytes: 200, compress: true });
    assert.equal(!noRoom.fits && noRoom.compressionTried, false, "no room even for an empty compressed payload");
  });

  test("an incompressible payload over the limit is compressed once and goes to S3 as it is", async () => {
    const raw = randomBytes(3 * LIMIT);
    const { bytes, format } = payloadFromEvent({ [BINARY_INPUT_KEY]: raw.toString("base64") });
    const fit = await fitInline(metaFor(bytes, format), bytes, { limitBytes: LIMIT, compress: true });
    assert.equal(fit.fits, false);
    assert.equal(!fit.fits && fit.compressionTried, true);
    assert.deepEqual(bytes, raw, "the bytes handed to S3 are the payload's, not compressed ones");
  });

  test("a compressed envelope whose size lies or that is a bomb is refused by name", async () => {
    const { bytes } = payloadFromEvent({ data: "y".repeat(50_000) });
    const fit = await fitInline(metaFor(bytes, "json"), bytes, { limitBytes: LIMIT, compress: true });
    assert.ok(fit.fits && "encoding" in fit.envelope);
    const event = JSON.parse(fit.envelope.body().toString()) as Record<string, Record<string, unknown>>;
    const withSize = (size: number) => ({ ...event, [INLINE_ENVELOPE_KEY]: { ...event[INLINE_ENVELOPE_KEY], size } });
    assert.throws(() => decodeInlineEvent(withSize(bytes.length - 1)), DecompressionBombError);
    assert.throws(() => decodeInlineEvent(withSize(bytes.length + 1)), DecompressedSizeMismatchError);
    assert.throws(() => decodeInlineEvent(withSize(1 << 30)), (e: Error) => e.name === "DecompressionBombError" && /more than the 16777216 bytes/.test(e.message));
    assert.throws(() => decodeInlineEvent({ ...event, payload: { not: "base64" } }), /compressed payload must be a base64 string, got object/);
  });
});
