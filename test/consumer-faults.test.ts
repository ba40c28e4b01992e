/**
 * The consumer on the S3 route when S3 or the event is not what it should be, through the
 * deployable consumer bundle in the local Lambda API. Nothing may be acknowledged that was not
 * processed: an error reading an object fails the invocation (so Lambda retries it and then
 * records it for an operator), except NoSuchKey, which is a repeated delivery of a payload the
 * consumer already processed and deleted.
 *
 * Real S3 answers some GetObjects with 403 AccessDenied, 500 InternalError or 503 SlowDown; s3rver
 * never does, so a fault-injecting proxy in front of it answers GetObject for chosen keys with
 * those errors and forwards everything else.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { bundleHandlers } from "../bundling/bundle.ts";
import { configuredTarget } from "../bundling/temp-bundles.ts";
import { consumerEnvironment, DEFAULT_CONSUMER_NAME, DEFAULT_PAYLOAD_PREFIX, DEFAULT_SENDER_NAME, DEFAULTS, type PipelineSettings } from "../lib/contract.ts";
import { sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { toObjectMetadata } from "../lib/payload-object.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { startLocalDynamoDb, type LocalDynamoDb } from "../local/dynamodb.ts";
import { startLambdaApi, type LambdaApi } from "../local/lambda-api.ts";
import { startLocalS3, type LocalS3 } from "../local/s3.ts";

const BUCKET = "consumer-faults-bucket";
const PREFIX = DEFAULT_PAYLOAD_PREFIX;
const settings: PipelineSettings = {
  senderName: DEFAULT_SENDER_NAME,
  consumerName: DEFAULT_CONSUMER_NAME,
  bucket: BUCKET,
  prefix: PREFIX,
  inlineLimitBytes: 1024,
  alwaysS3: false,
  deleteAfterProcessing: true,
  compressInline: false,
  idempotencyTable: "consumer-faults-idempotency",
  idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
  sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
  sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
};
const credentials = { accessKeyId: "local", secretAccessKey: "local" };

interface Fault {
  status: number;
  code: string;
}

let dir: string;
let s3: LocalS3;
let dynamodb: LocalDynamoDb;
let proxy: http.Server;
let api: LambdaApi;
let lambda: LambdaClient;
let client: S3Client;
/** GetObject answers to inject, by object key. */
const faults = new Map<string, Fault>();
/** GetObject requests that reached the proxy, by object key. */
const gets = new Map<string, number>();
const logs: string[] = [];

/** Forwards to local S3, except GetObject of a key in `faults`, which gets S3's error response. */
function startFaultProxy(upstream: URL): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).slice(`/${BUCKET}/`.length);
    const fault = faults.get(key);
    if (req.method === "GET") gets.set(key, (gets.get(key) ?? 0) + 1);
    if (req.method === "GET" && fault) {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/xml", "x-amz-request-id": "FAULT" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>injected ${fault.code}</Message><RequestId>FAULT</RequestId></Error>`);
      return;
    }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on("error", (err) => res.destroy(err));
    req.pipe(forward);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "consumer-faults-"));
  const [{ consumer }, localS3, localDynamoDb] = await Promise.all([
    bundleHandlers({ outDir: path.join(dir, "bundles"), only: ["consumer"], target: configuredTarget() }),
    startLocalS3({ bucket: BUCKET }),
    startLocalDynamoDb({ tables: [settings.idempotencyTable] }),
  ]);
  s3 = localS3;
  dynamodb = localDynamoDb;
  proxy = await startFaultProxy(new URL(s3.endpoint));
  api = await startLambdaApi({
    functions: [
      {
        name: DEFAULT_CONSUMER_NAME,
        bundleFile: consumer.file,
        environment: {
          ...consumerEnvironment(settings),
          AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
          // The SDK's own retries are not under test; the consumer's answer to the error that
          // outlives them is. One attempt keeps the request count exact.
          AWS_MAX_ATTEMPTS: "1",
        },
      },
    ],
    asyncInvokeConfig: { maxRetryAttempts: 2, retryDelaysMs: [10] },
    failureDir: path.join(dir, "failed-events"),
    onLog: (_fn, line) => logs.push(line),
  });
  lambda = new LambdaClient({ endpoint: api.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
});

after(async () => {
  lambda?.destroy();
  client?.destroy();
  await api?.close();
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  await s3?.close();
  await dynamodb?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes an object as the sender does; returns what the sender recorded. */
async function putPayload(key: string, body = `{"key":${JSON.stringify(key)}}`): Promise<PayloadMeta> {
  const bytes = Buffer.from(body);
  const meta: PayloadMeta = { id: `id-${key}`, format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${key}`, Body: bytes, Metadata: toObjectMetadata(meta) }));
  return meta;
}

/** S3's notification for these objects (keys form-URL-encoded, sizes as S3 reports them). */
function notification(...objects: Array<{ bucket?: string; key: string; size: number }>) {
  return {
    Records: objects.map(({ bucket = BUCKET, key, size }) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "us-east-1",
      eventName: "ObjectCreated:Put",
      s3: { s3SchemaVersion: "1.0", bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeS3EventKey(key), size } },
    })),
  };
}

async function invokeConsumer(event: unknown): Promise<{ functionError: string | undefined; errorMessage: string }> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, Payload: Buffer.from(JSON.stringify(event)) }));
  const body = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString() || "null") as { errorMessage?: string } | null;
  return { functionError: out.FunctionError, errorMessage: body?.errorMessage ?? "" };
}

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

const consumerLines = (predicate: (json: Record<string, unknown>) => boolean) =>
  logs.map(parseJsonLine).filter((json): json is Record<string, unknown> => json !== undefined && predicate(json));
const received = (id: string) => consumerLines((j) => j.message === "payload received" && j.id === id);

test("a GetObject error other than NoSuchKey fails the invocation and keeps the object: AccessDenied, InternalError, SlowDown", async () => {
  for (const fault of [
    { status: 403, code: "AccessDenied" },
    { status: 500, code: "InternalError" },
    { status: 503, code: "SlowDown" },
  ]) {
    const key = `${PREFIX}fault ${fault.code}.json`;
    const meta = await putPayload(key.slice(PREFIX.length));
    faults.set(key, fault);
    const r = await invokeConsumer(notification({ key, size: meta.size }));
    assert.equal(r.functionError, "Unhandled", `${fault.code} must fail the invocation, or Lambda never retries it`);
    assert.ok(r.errorMessage.includes(`1 of 1 records failed: s3://${BUCKET}/${key}: ${fault.code}`), r.errorMessage);
    assert.equal(gets.get(key), 1, "the consumer did try to read it");
    assert.ok(await exists(key), "the object stays for the retry");
    assert.deepEqual(received(meta.id), []);
  }
  assert.deepEqual(consumerLines((j) => String(j.message).includes("repeated delivery")), [], "no error is mistaken for a repeated delivery");
});

test("Lambda retries an invocation that failed on AccessDenied, then records it for an operator", async () => {
  const key = `${PREFIX}denied-async.json`;
  const meta = await putPayload(key.slice(PREFIX.length));
  faults.set(key, { status: 403, code: "AccessDenied" });
  const failuresBefore = api.failures.length;
  await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(notification({ key, size: meta.size }))) }));
  await api.idle();
  const failures = api.failures.slice(failuresBefore);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.record.requestContext.approximateInvokeCount, 3, "the first attempt and both retries");
  assert.match(failures[0]!.record.responsePayload?.errorMessage ?? "", /AccessDenied/);
  assert.equal(gets.get(key), 3, "each attempt read the object again");
  assert.ok(await exists(key));
});

test("NoSuchKey alone is a repeated delivery: acknowledged with a warning", async () => {
  const key = `${PREFIX}already-processed.json`;
  const r = await invokeConsumer(notification({ key, size: 10 }));
  assert.equal(r.functionError, undefined, r.errorMessage);
  const warnings = consumerLines((j) => String(j.message).includes("repeated delivery") && j.key === key);
  assert.deepEqual(warnings.map((w) => w.level), ["warn"]);
});

test("one bad record fails the whole invocation; the other records are still processed", async () => {
  const bad = `${PREFIX}tampered.json`;
  const good = `${PREFIX}good.json`;
  const badMeta = await putPayload(bad.slice(PREFIX.length));
  const goodMeta = await putPayload(good.slice(PREFIX.length));
  // The sender recorded other bytes than the object now holds.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: bad, Body: Buffer.from("x".repeat(badMeta.size)), Metadata: toObjectMetadata(badMeta) }));
  const r = await invokeConsumer(notification({ key: bad, size: badMeta.size }, { key: good, size: goodMeta.size }));
  assert.equal(r.functionError, "Unhandled", "a partial failure must fail the invocation, or the bad record is never retried");
  assert.match(r.errorMessage, new RegExp(`^1 of 2 records failed: s3://${BUCKET}/${bad}: InvalidPayloadError: .*sha256`));
  assert.equal(received(goodMeta.id).length, 1, "the good record after the bad one was processed");
  assert.ok(!(await exists(good)), "and deleted");
  assert.ok(await exists(bad), "the bad one is kept");
});

test("a notification size that differs from the sender's record is refused and the object kept", async () => {
  const key = `${PREFIX}resized.json`;
  const meta = await putPayload(key.slice(PREFIX.length));
  const r = await invokeConsumer(notification({ key, size: meta.size + 1 }));
  assert.equal(r.functionError, "Unhandled");
  assert.ok(r.errorMessage.includes(`s3://${BUCKET}/${key} is ${meta.size + 1} bytes in the notification; the sender recorded ${meta.size}`), r.errorMessage);
  assert.deepEqual(received(meta.id), []);
  assert.ok(await exists(key));
});

test("a record outside the bucket or prefix refuses the whole event before any object is read", async () => {
  const key = `${PREFIX}innocent.json`;
  const meta = await putPayload(key.slice(PREFIX.length));
  for (const foreign of [{ key: "elsewhere/x.json", size: 1 }, { bucket: "someone-elses-bucket", key: `${PREFIX}x.json`, size: 1 }]) {
    const r = await invokeConsumer(notification({ key, size: meta.size }, foreign));
    assert.equal(r.functionError, "Unhandled");
    assert.match(r.errorMessage, /^Refusing s3:\/\//);
  }
  assert.equal(gets.get(key) ?? 0, 0, "the valid record's object was never read");
  assert.deepEqual(received(meta.id), []);
  assert.ok(await exists(key));
});
