/**
 * The product's promise, as properties: for payloads whose inline event is within ±512 bytes of
 * the limit, the consumer receives byte-identical bytes, and the route is inline exactly when the
 * inline event fits (compression off, so the boundary is the uncompressed size). With compression
 * on, payloads across the compression threshold arrive byte-identical, and go inline compressed
 * exactly when only compression makes the event fit. Runs the deployable bundles in the local
 * cloud, through the real SDK.
 *
 * fast-check prints the seed and path of any failure; rerun with FC_SEED=<seed> to reproduce.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import { largeSample } from "../cli/samples.ts";
import { compressWithin } from "../lib/compression.ts";
import { DEFAULT_SENDER_NAME, EVENT_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { payloadFromEvent } from "../lib/payload-codec.ts";
import { charOf, eventOfVaryingCompressibility, type CharClass } from "./arbitraries.ts";
import { startPipeline, type Pipeline } from "./harness.ts";
import {
  binaryPayloadWithInlineSize,
  expectedCompressedInlineSize,
  expectedInlineSize,
  incompressibleJsonPayloadWithInlineSize,
  jsonPayloadWithInlineSize,
  sha256,
  type BuiltPayload,
} from "../local/payloads.ts";

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const SMALL_LIMIT = 8192;

let bundles: Record<FunctionRole, Bundle>;
let cleanup: () => void;

before(async () => {
  ({ bundles, cleanup } = await bundleToTempDir());
});
after(() => cleanup());

/** Sends one payload and checks route, size rule and byte identity; returns the route taken. */
async function sendAndCheck(p: Pipeline, limit: number, built: BuiltPayload): Promise<"inline" | "s3"> {
  const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify(built.event));
  assert.equal(functionError, undefined, `sender failed: ${JSON.stringify(body)}`);
  const r = body as { route: "inline" | "s3"; reason?: string; id: string; size: number; sha256: string; format: "json" | "binary" };
  const expectedBytes = built.bytes;
  assert.equal(r.size, expectedBytes.length, "sender's size is the payload's byte length");
  assert.equal(r.sha256, sha256(expectedBytes), "sender hashed the payload bytes");
  assert.equal(r.format, built.format);

  const inlineSize = expectedInlineSize(r, built.inlinePayload);
  const fits = inlineSize <= limit;
  assert.equal(r.route, fits ? "inline" : "s3", `inline event is ${inlineSize} bytes, limit ${limit}: expected ${fits ? "inline" : "s3"}, got ${r.route} (${r.reason ?? ""})`);
  if (!fits) assert.equal(r.reason, "too-large", "an oversized payload goes to S3 without first being rejected by Lambda");

  const delivered = await p.delivery(r.id);
  assert.equal(delivered.route, r.route);
  assert.equal(delivered.size, expectedBytes.length);
  assert.equal(delivered.sha256, sha256(expectedBytes), "consumer received different bytes");
  return r.route;
}

const jsonCase = fc.record({
  cls: fc.constantFrom<CharClass>("ascii", "2-byte", "3-byte", "4-byte", "escapes", "mixed"),
  // The exact boundary is where off-by-one bugs live; make sure it is hit often.
  delta: fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -512, max: 512 })),
  motifSeed: fc.nat(),
});

function jsonMotif(cls: CharClass, motifSeed: number): string {
  // Sample the class's arbitrary deterministically from the case's own seed.
  return fc.sample(fc.string({ unit: charOf(cls), minLength: 1, maxLength: 24 }), { seed: motifSeed, numRuns: 1 })[0] ?? "a";
}

describe(`around a ${SMALL_LIMIT}-byte limit`, () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles, settings: { inlineLimitBytes: SMALL_LIMIT, compressInline: false }, eventLimitBytes: SMALL_LIMIT });
  });
  after(async () => p?.close());

  test("JSON payloads: byte-identical on both routes, inline exactly when the event fits", async () => {
    const routes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(jsonCase, async ({ cls, delta, motifSeed }) => {
        routes.add(await sendAndCheck(p, SMALL_LIMIT, jsonPayloadWithInlineSize(SMALL_LIMIT + delta, jsonMotif(cls, motifSeed))));
      }),
      {
        numRuns: 60,
        includeErrorInReport: true,
        seed,
        examples: [
          [{ cls: "ascii", delta: 0, motifSeed: 1 }],
          [{ cls: "ascii", delta: 1, motifSeed: 1 }],
          [{ cls: "4-byte", delta: 0, motifSeed: 2 }],
          [{ cls: "3-byte", delta: 1, motifSeed: 3 }],
          [{ cls: "escapes", delta: -1, motifSeed: 4 }],
        ],
      },
    );
    assert.deepEqual([...routes].sort(), ["inline", "s3"], "both routes were exercised");
  });

  test("binary payloads: byte-identical on both routes, inline exactly when the event fits", async () => {
    const routes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -512, max: 512 }), fc.uint8Array({ minLength: 1, maxLength: 97 }), async (delta, motif) => {
        routes.add(await sendAndCheck(p, SMALL_LIMIT, binaryPayloadWithInlineSize(SMALL_LIMIT + delta, motif)));
      }),
      { numRuns: 25, seed, includeErrorInReport: true, examples: [[0, new Uint8Array([0, 0xff, 0x80, 0x0a])], [4, new Uint8Array([0xc3, 0x28])]] },
    );
    assert.deepEqual([...routes].sort(), ["inline", "s3"], "both routes were exercised");
  });
});

describe(`at the real Event limit, ${EVENT_PAYLOAD_LIMIT_BYTES} bytes`, () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles, settings: { compressInline: false } });
  });
  after(async () => p?.close());

  test("inline at exactly the limit, S3 one byte over, multi-byte counted as bytes", async () => {
    const L = EVENT_PAYLOAD_LIMIT_BYTES;
    assert.equal(await sendAndCheck(p, L, jsonPayloadWithInlineSize(L, "abc")), "inline");
    assert.equal(await sendAndCheck(p, L, jsonPayloadWithInlineSize(L + 1, "abc")), "s3");
    // 4-byte characters: the string's .length is about half its byte count.
    assert.equal(await sendAndCheck(p, L, jsonPayloadWithInlineSize(L, "😀")), "inline");
    assert.equal(await sendAndCheck(p, L, jsonPayloadWithInlineSize(L + 1, "😀é\"\n")), "s3");
    assert.equal(await sendAndCheck(p, L, binaryPayloadWithInlineSize(L, new Uint8Array([0, 1, 254, 255]))), "inline");
    assert.equal(await sendAndCheck(p, L, binaryPayloadWithInlineSize(L + 512, new Uint8Array([7, 0, 200]))), "s3");
  });
});

type Route = "inline" | "inline-br" | "s3";

interface CompressedResponse {
  route: "inline" | "s3";
  reason?: string;
  id: string;
  format: "json" | "binary";
  size: number;
  sha256: string;
  inlineSize?: number;
  encoding?: string;
  compressedSize?: number;
}

/** Sends one event with compression on; checks the route against the wire format and byte identity. */
async function sendCompressible(p: Pipeline, limit: number, event: unknown): Promise<Route> {
  const { bytes, format } = payloadFromEvent(event);
  const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify(event));
  assert.equal(functionError, undefined, `sender failed: ${JSON.stringify(body)}`);
  const r = body as CompressedResponse;
  assert.deepEqual([r.size, r.sha256, r.format], [bytes.length, sha256(bytes), format]);

  const plain = expectedInlineSize(r, format === "json" ? event : Buffer.from(bytes).toString("base64"));
  const complete = await compressWithin(bytes, Number.POSITIVE_INFINITY);
  assert.ok(complete.fits);
  const compressed = expectedCompressedInlineSize(r, complete.bytes);
  const expected: Route = plain <= limit ? "inline" : compressed <= limit ? "inline-br" : "s3";
  const actual: Route = r.route === "s3" ? "s3" : r.encoding === undefined ? "inline" : "inline-br";
  assert.equal(actual, expected, `uncompressed event ${plain} bytes, compressed ${compressed}, limit ${limit}`);
  if (actual === "inline-br") {
    assert.deepEqual([r.encoding, r.inlineSize, r.compressedSize], ["br", compressed, complete.bytes.length]);
  } else {
    assert.deepEqual([r.encoding, r.compressedSize, r.inlineSize], [undefined, undefined, plain]);
  }
  if (actual === "s3") assert.equal(r.reason, "too-large");

  const delivered = await p.delivery(r.id);
  assert.deepEqual(
    { route: delivered.route, encoding: delivered.encoding, size: delivered.size, sha256: delivered.sha256 },
    { route: r.route, encoding: r.encoding, size: bytes.length, sha256: sha256(bytes) },
    "the consumer received the exact bytes (S3 objects are the payload's own bytes: their sha256 is checked too)",
  );
  return actual;
}

describe(`compression on, around a ${SMALL_LIMIT}-byte limit`, () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles, settings: { inlineLimitBytes: SMALL_LIMIT }, eventLimitBytes: SMALL_LIMIT });
  });
  after(async () => p?.close());

  test("payloads across the compression threshold arrive byte-identical; compressed exactly when only that makes the event fit", async () => {
    const routes = new Set<Route>();
    await fc.assert(
      fc.asyncProperty(eventOfVaryingCompressibility(SMALL_LIMIT - 1024, SMALL_LIMIT + 8192), async (event) => {
        routes.add(await sendCompressible(p, SMALL_LIMIT, event));
      }),
      { numRuns: 40, seed, includeErrorInReport: true },
    );
    assert.deepEqual([...routes].sort(), ["inline", "inline-br", "s3"], "every route was exercised");
  });
});

describe(`compression on, at the real Event limit, ${EVENT_PAYLOAD_LIMIT_BYTES} bytes`, () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles });
  });
  after(async () => p?.close());

  test("sample-shaped JSON of 6,000,000 bytes stays inline; an incompressible payload one byte over the limit goes through S3", async () => {
    const L = EVENT_PAYLOAD_LIMIT_BYTES;
    assert.equal(await sendCompressible(p, L, largeSample(6_000_000)), "inline-br");
    assert.equal(await sendCompressible(p, L, incompressibleJsonPayloadWithInlineSize(L).event), "inline");
    assert.equal(await sendCompressible(p, L, incompressibleJsonPayloadWithInlineSize(L + 1).event), "s3");
  });
});
