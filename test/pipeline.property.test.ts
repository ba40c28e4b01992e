/**
 * The product's promise, as properties: for payloads whose inline event is within ±512 bytes of
 * the limit, the consumer receives byte-identical bytes, and the route is inline exactly when the
 * inline event fits. Runs the deployable bundles in the local cloud, through the real SDK.
 *
 * fast-check prints the seed and path of any failure; rerun with FC_SEED=<seed> to reproduce.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { Bundle, FunctionRole } from "../bundling/bundle";
import { bundleToTempDir } from "../bundling/temp-bundles";
import { DEFAULT_SENDER_NAME, EVENT_PAYLOAD_LIMIT_BYTES } from "../lib/contract";
import { charOf, type CharClass } from "./arbitraries";
import { startPipeline, type Pipeline } from "./harness";
import { binaryPayloadWithInlineSize, expectedInlineSize, jsonPayloadWithInlineSize, sha256, type BuiltPayload } from "../local/payloads";

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
    p = await startPipeline({ bundles, settings: { inlineLimitBytes: SMALL_LIMIT }, eventLimitBytes: SMALL_LIMIT });
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
    p = await startPipeline({ bundles });
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
