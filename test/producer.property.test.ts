/**
 * The producer library's promise, as a property: a JSON value, bytes, or a stream of any chunking
 * reaches the consumer byte-identical on every route (inline, S3 single PUT, S3 multipart), and
 * the route is the documented one for its size. The library runs in this process with the real
 * SDK; the consumer is the deployable bundle in the local cloud.
 *
 * fast-check prints the seed and path of any failure; rerun with FC_SEED=<seed> to reproduce.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import fc from "fast-check";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import { DEFAULT_CONSUMER_NAME, S3_MIN_PART_BYTES } from "../lib/contract.ts";
import { InvalidSendOptionsError, sendPayload, type PayloadTarget, type SendPayloadOptions, type SendResult } from "../lib/producer.ts";
import { expectedInlineSize, sha256 } from "../local/payloads.ts";
import { jsonEvent } from "./arbitraries.ts";
import { startPipeline, type Pipeline } from "./harness.ts";

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const LIMIT = 8192;
/** S3's smallest part, so multipart payloads stay small enough to run many. */
const PART = S3_MIN_PART_BYTES;

let p: Pipeline;
let target: PayloadTarget;
let cleanup: () => void;
const options: SendPayloadOptions = { payloadSizeThreshold: LIMIT, compress: false, partSize: PART };

before(async () => {
  const built = await bundleToTempDir();
  cleanup = built.cleanup;
  p = await startPipeline({ bundles: built.bundles, settings: { inlineLimitBytes: LIMIT, compressInline: false }, eventLimitBytes: LIMIT });
  target = { consumerFunction: DEFAULT_CONSUMER_NAME, bucket: p.cloud.settings.bucket, lambdaClient: p.lambda, s3Client: p.s3 };
});
after(async () => {
  await p?.close();
  cleanup?.();
});

type Route = "inline" | "put" | "multipart";

/** The documented rule: inline when the exact event fits, else one PUT up to partSize, else multipart. */
function documentedRoute(bytes: Buffer, format: "json" | "binary", id: string): Route {
  const inlinePayload = format === "json" ? JSON.parse(bytes.toString("utf8")) : bytes.toString("base64");
  if (expectedInlineSize({ id, format, size: bytes.length, sha256: sha256(bytes) }, inlinePayload) <= LIMIT) return "inline";
  return bytes.length <= PART ? "put" : "multipart";
}

function routeOf(r: SendResult): Route {
  return r.route === "inline" ? "inline" : r.upload;
}

async function checkDelivered(r: SendResult, bytes: Buffer, format: "json" | "binary"): Promise<Route> {
  assert.deepEqual([r.size, r.sha256, r.format], [bytes.length, sha256(bytes), format], "the result describes the payload bytes");
  assert.equal(routeOf(r), documentedRoute(bytes, format, r.id), `${bytes.length} bytes took ${routeOf(r)}`);
  const delivered = await p.delivery(r.id);
  assert.deepEqual([delivered.route, delivered.size, delivered.sha256], [r.route, bytes.length, sha256(bytes)], "consumer received the same bytes");
  return routeOf(r);
}

/** Fast, seeded, position-dependent bytes: a reordered or repeated chunk changes the hash. */
function bytesOf(size: number, seedValue: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seedValue | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Sizes on every route, weighted to the boundaries where off-by-one bugs live. */
const size = fc.oneof(
  fc.integer({ min: 0, max: LIMIT + 512 }),
  fc.integer({ min: LIMIT, max: PART }),
  fc.constantFrom(PART - 1, PART, PART + 1, 2 * PART),
  fc.integer({ min: PART + 1, max: 2 * PART + 4096 }),
);

/** Splits `bytes` by `sizes`, cycled; at most about 4,096 chunks, so tiny chunks of a large payload stay affordable. */
function* chunked(bytes: Buffer, sizes: readonly number[]): Generator<Buffer> {
  const floor = Math.ceil(bytes.length / 4096);
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.max(floor, sizes[i % sizes.length]!);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

describe("sendPayload round-trips through the local cloud", () => {
  test("bytes and streams of random sizes and chunkings, on every route", async () => {
    const routes = new Set<Route>();
    await fc.assert(
      fc.asyncProperty(
        size,
        fc.nat(),
        fc.constantFrom("bytes", "readable", "async-iterable"),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 1 << 21 })), { minLength: 1, maxLength: 5 }),
        fc.constantFrom<"json" | "binary">("binary", "binary", "json"),
        async (n, s, kind, chunks, format) => {
          // A JSON-format payload must be JSON: a string of random letters.
          const bytes = format === "json" ? Buffer.from(JSON.stringify(bytesOf(Math.max(0, n - 2), s).toString("base64").slice(0, Math.max(0, n - 2))), "utf8") : bytesOf(n, s);
          const payload = kind === "bytes" ? bytes : kind === "readable" ? Readable.from(chunked(bytes, chunks)) : (async function* () { yield* chunked(bytes, chunks); })();
          const r = await sendPayload(target, payload, { ...options, format });
          routes.add(await checkDelivered(r, bytes, format));
        },
      ),
      { numRuns: 16, seed, includeErrorInReport: true, examples: [[PART + 1, 7, "readable", [PART + 1], "binary"], [0, 1, "async-iterable", [1], "binary"]] },
    );
    assert.deepEqual([...routes].sort(), ["inline", "multipart", "put"], "every route was exercised");
  });

  test("JSON values arrive as their JSON.stringify bytes; large ones go multipart", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(jsonEvent, fc.nat().map((s) => ({ blob: bytesOf(PART, s).toString("base64") }))), async (value) => {
        const r = await sendPayload(target, value, options);
        await checkDelivered(r, Buffer.from(JSON.stringify(value), "utf8"), "json");
      }),
      { numRuns: 8, seed, includeErrorInReport: true },
    );
  });

  test("a committed multipart payload leaves no object behind once processed", async () => {
    const bytes = bytesOf(PART + 100, 42);
    const r = await sendPayload(target, Readable.from(chunked(bytes, [65_536])), options);
    assert.ok(r.route === "s3" && r.upload === "multipart");
    await p.delivery(r.id);
    await p.cloud.idle();
    const listed = await p.s3.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: r.key }));
    assert.deepEqual(listed.Contents ?? [], [], "data and commit objects were deleted after processing");
  });

  test("an interrupted multipart upload leaves no object that triggers the consumer", async () => {
    const before = p.cloud.logs.length;
    async function* failing() {
      yield bytesOf(2 * PART + 10, 9);
      throw new Error("producer interrupted");
    }
    // leavePartsOnError: as a producer killed mid-upload would, it leaves its parts to the lifecycle rule.
    const error = await sendPayload(target, failing(), { ...options, leavePartsOnError: true }).then(
      () => assert.fail("the upload should fail"),
      (e: unknown) => e as Error & { key: string },
    );
    assert.equal(error.name, "PayloadUploadError");
    await p.cloud.idle();
    const listed = await p.s3.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: error.key }));
    assert.deepEqual(listed.Contents ?? [], [], "no object exists under the upload's key");
    const invoked = p.cloud.logs.slice(before).filter((l) => l.functionName === DEFAULT_CONSUMER_NAME && l.line.startsWith("START"));
    assert.deepEqual(invoked, [], "the consumer was not invoked");
  });

  test("bad options are refused by name", async () => {
    await assert.rejects(sendPayload(target, {}, { partSize: 1024 }), InvalidSendOptionsError);
    await assert.rejects(sendPayload(target, {}, { alwaysUseS3: true } as SendPayloadOptions), /Unknown option "alwaysUseS3"/);
    await assert.rejects(sendPayload({ ...target, bucket: "" }, {}), /target.bucket/);
  });
});
