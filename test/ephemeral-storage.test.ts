/**
 * The consumer's /tmp, through the consumer bundle in the local Lambda API, whose /tmp has the
 * configured ephemeral size as Lambda's does: a spool file left by an invocation that timed out is
 * gone before the next payload is spooled (it used to stay, and each retry added one, until every
 * payload failed for want of space), and a payload larger than the storage fails by name.
 *
 * The only injected fault is the business function of payloads whose id starts with "stall-",
 * which never returns (local/fixtures/stalling-consumer-handler.ts).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { consumerEnvironment, DEFAULT_CONSUMER_NAME, DEFAULT_PAYLOAD_PREFIX, DEFAULT_SENDER_NAME, DEFAULTS, ENV, type PipelineSettings } from "../lib/contract.ts";
import { sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { payloadObjectKey, toObjectMetadata } from "../lib/payload-object.ts";
import { spoolDirectory } from "../lib/payload-stream.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { startLocalDynamoDb, type LocalDynamoDb } from "../local/dynamodb.ts";
import { bundleStallingConsumer } from "../local/fixtures/failing-consumer.ts";
import { startLambdaApi, type LambdaApi } from "../local/lambda-api.ts";
import { startLocalS3, type LocalS3 } from "../local/s3.ts";

const KiB = 1024;
const BUCKET = "ephemeral-storage-bucket";
const settings: PipelineSettings = {
  senderName: DEFAULT_SENDER_NAME,
  consumerName: DEFAULT_CONSUMER_NAME,
  bucket: BUCKET,
  prefix: DEFAULT_PAYLOAD_PREFIX,
  inlineLimitBytes: DEFAULTS.inlineLimit,
  alwaysS3: true,
  deleteAfterProcessing: true,
  compressInline: false,
  idempotencyTable: "ephemeral-storage-idempotency",
  idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
  sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
  sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
};
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

let dir: string;
let s3: LocalS3;
let dynamodb: LocalDynamoDb;
let api: LambdaApi;
let lambda: LambdaClient;
let client: S3Client;
const logs: string[] = [];

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "ephemeral-storage-"));
  const [consumer, localS3, localDynamoDb] = await Promise.all([
    bundleStallingConsumer(path.join(dir, "bundle")),
    startLocalS3({ bucket: BUCKET }),
    startLocalDynamoDb({ tables: [settings.idempotencyTable] }),
  ]);
  s3 = localS3;
  dynamodb = localDynamoDb;
  api = await startLambdaApi({
    functions: [
      {
        name: DEFAULT_CONSUMER_NAME,
        bundleFile: consumer.file,
        // The stalled payload waits it out, so it bounds this file's time; but it must also cover
        // fetching and spooling a payload on a saturated machine (4 s did not, at low priority).
        timeoutSeconds: 15,
        // 1 MiB of /tmp, and every payload spooled: room for one 600 KiB payload, not two.
        ephemeralStorageMb: 1,
        environment: {
          ...consumerEnvironment(settings),
          [ENV.streamAboveBytes]: "0",
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
        },
      },
    ],
    onLog: (_fn, line) => logs.push(line),
  });
  lambda = new LambdaClient({ endpoint: api.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
});

after(async () => {
  lambda?.destroy();
  client?.destroy();
  await api?.close();
  await s3?.close();
  await dynamodb?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a payload object as the sender does; returns its key and record. */
async function putPayload(id: string, size: number): Promise<{ key: string; meta: PayloadMeta }> {
  const bytes = Buffer.alloc(size, id);
  const meta: PayloadMeta = { id, format: "binary", size, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  const key = payloadObjectKey(settings.prefix, meta);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, Metadata: toObjectMetadata(meta) }));
  return { key, meta };
}

async function deliver(key: string, size: number): Promise<{ errorType?: string; errorMessage?: string; processed?: string[] }> {
  const event = {
    Records: [{ eventSource: "aws:s3", eventName: "ObjectCreated:Put", s3: { bucket: { name: BUCKET }, object: { key: encodeS3EventKey(key), size } } }],
  };
  const out = await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, Payload: Buffer.from(JSON.stringify(event)) }));
  return JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString() || "null") as never;
}

/** The consumer's spool files and their sizes. */
function spooled(): number[] {
  const spool = spoolDirectory(api.tmpDir(DEFAULT_CONSUMER_NAME));
  try {
    return readdirSync(spool).map((name) => statSync(path.join(spool, name)).size);
  } catch {
    return [];
  }
}

const received = (id: string) => logs.map(parseJsonLine).filter((j) => j?.message === "payload received" && j.id === id).length;

test("a timed-out invocation's spool file is gone before the next payload is spooled, so that payload still fits", async () => {
  const stalled = await putPayload(`stall-${randomUUID()}`, 600 * KiB);
  const timedOut = await deliver(stalled.key, stalled.meta.size);
  assert.equal(timedOut.errorType, "Sandbox.Timedout", JSON.stringify(timedOut));
  assert.deepEqual(spooled(), [600 * KiB], "the killed invocation could not remove its spool file");

  const next = await putPayload(randomUUID(), 600 * KiB);
  const result = await deliver(next.key, next.meta.size);
  assert.deepEqual(result, { processed: [next.meta.id], repeated: [] }, "fits in 1 MiB only if the stale file was removed first");
  assert.equal(received(next.meta.id), 1);
  assert.deepEqual(spooled(), [], "and its own spool file is removed after processing");
});

test("a payload larger than the ephemeral storage fails as EphemeralStorageTooSmallError, and its object is kept", async () => {
  const big = await putPayload(randomUUID(), 1_200 * KiB);
  const result = await deliver(big.key, big.meta.size);
  assert.equal(result.errorType, "EphemeralStorageTooSmallError", JSON.stringify(result));
  assert.match(result.errorMessage ?? "", new RegExp(`is ${big.meta.size} bytes; only \\d+ bytes are free in .*raise the consumer's ephemeral storage`));
  assert.equal((await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: big.key }))).ContentLength, big.meta.size);
  assert.equal(received(big.meta.id), 0);
});
