/**
 * The consumer on the S3 route when S3, the store or the event is not what it should be, through
 * the deployable consumer bundle in the local Lambda API. Nothing may be acknowledged that was not
 * processed: an error reading an object fails the invocation (so Lambda retries it and then
 * records it for an operator), and a missing object is a repeated delivery only when the
 * idempotency store records its payload as processed. Every failure reaches Lambda, and the
 * failure record, under its own error's name.
 *
 * Real S3 answers some GetObjects with 403 AccessDenied, 500 InternalError or 503 SlowDown; s3rver
 * never does, so a fault-injecting proxy in front of it answers GetObject for chosen keys with
 * those errors and forwards everything else. Other injected faults: a business function that
 * always throws (the failing consumer fixture), a store that cannot be reached, and idempotency
 * records written into the real store.
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { bundleHandlers } from "../bundling/bundle.ts";
import { configuredTarget } from "../bundling/temp-bundles.ts";
import {
  COMMIT_KEY_SUFFIX,
  consumerEnvironment,
  DEFAULT_CONSUMER_NAME,
  DEFAULT_PAYLOAD_PREFIX,
  DEFAULT_SENDER_NAME,
  DEFAULTS,
  ENV,
  IDEMPOTENCY_RECORD,
  MULTIPART_METADATA,
  type PipelineSettings,
} from "../lib/contract.ts";
import { KEY_PREFIX } from "../lib/idempotency.ts";
import { sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { payloadObjectKey, toObjectMetadata } from "../lib/payload-object.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { startLocalDynamoDb, type LocalDynamoDb } from "../local/dynamodb.ts";
import { bundleFailingConsumer } from "../local/fixtures/failing-consumer.ts";
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

/** Consumers beside the real one, each with one injected fault. */
const FAILING = "FailingBusinessFunction";
const STORE_DOWN = "StoreUnreachable";
const TINY_TMP = "TinyEphemeralStorage";

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "consumer-faults-"));
  const [{ consumer }, failing, localS3, localDynamoDb] = await Promise.all([
    bundleHandlers({ outDir: path.join(dir, "bundles"), only: ["consumer"], target: configuredTarget() }),
    bundleFailingConsumer(path.join(dir, "failing")),
    startLocalS3({ bucket: BUCKET }),
    startLocalDynamoDb({ tables: [settings.idempotencyTable] }),
  ]);
  s3 = localS3;
  dynamodb = localDynamoDb;
  proxy = await startFaultProxy(new URL(s3.endpoint));
  const environment = {
    ...consumerEnvironment(settings),
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    // The SDK's own retries are not under test; the consumer's answer to the error that
    // outlives them is. One attempt keeps the request count exact.
    AWS_MAX_ATTEMPTS: "1",
  };
  api = await startLambdaApi({
    functions: [
      { name: DEFAULT_CONSUMER_NAME, bundleFile: consumer.file, environment },
      { name: FAILING, bundleFile: failing.file, environment },
      // Port 1 refuses connections: the idempotency table cannot be reached.
      { name: STORE_DOWN, bundleFile: consumer.file, environment: { ...environment, AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:1" } },
      { name: TINY_TMP, bundleFile: consumer.file, ephemeralStorageMb: 1, environment: { ...environment, [ENV.streamAboveBytes]: "0" } },
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
async function putPayload(key: string, body = `{"key":${JSON.stringify(key)}}`, id = `id-${key}`): Promise<PayloadMeta> {
  const bytes = Buffer.from(body);
  const meta: PayloadMeta = { id, format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${key}`, Body: bytes, Metadata: toObjectMetadata(meta) }));
  return meta;
}

/** A payload as the sender names it (`<prefix>YYYY/MM/DD/<id>.json`), so its key names its id. */
async function putNamedPayload(body = `{"at":${Date.now()}}`): Promise<{ key: string; meta: PayloadMeta }> {
  const id = randomUUID();
  const key = payloadObjectKey(PREFIX, { id, format: "json", sentAt: new Date().toISOString() });
  return { key, meta: await putPayload(key.slice(PREFIX.length), body, id) };
}

/** A multipart payload as the producer leaves it: the data object, then its commit object. */
async function putMultipart(options: { data: boolean }): Promise<{ key: string; commitKey: string; meta: PayloadMeta }> {
  const id = randomUUID();
  const bytes = Buffer.from(`{"multipart":${JSON.stringify(id)}}`);
  const meta: PayloadMeta = { id, format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  const key = payloadObjectKey(PREFIX, meta);
  const commitKey = `${key}${COMMIT_KEY_SUFFIX}`;
  if (options.data) {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, Metadata: { "payload-id": id, [MULTIPART_METADATA.awaitingCommit]: "true" } }));
  }
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: commitKey, Body: new Uint8Array(), Metadata: { ...toObjectMetadata(meta), [MULTIPART_METADATA.objectKey]: key } }),
  );
  return { key, commitKey, meta };
}

/** Writes an idempotency record for `id` into the real store, as Powertools lays it out. */
async function putIdempotencyRecord(meta: Pick<PayloadMeta, "id" | "sha256">, status: "INPROGRESS" | "COMPLETED"): Promise<void> {
  const md5 = (value: string) => createHash("md5").update(JSON.stringify(value)).digest("base64");
  const db = dynamodb.client();
  try {
    await db.send(
      new PutItemCommand({
        TableName: settings.idempotencyTable,
        Item: {
          [IDEMPOTENCY_RECORD.key]: { S: `${KEY_PREFIX}#${md5(meta.id)}` },
          [IDEMPOTENCY_RECORD.status]: { S: status },
          [IDEMPOTENCY_RECORD.expiry]: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          [IDEMPOTENCY_RECORD.inProgressExpiry]: { N: String(Date.now() + 3_600_000) },
          [IDEMPOTENCY_RECORD.validation]: { S: md5(meta.sha256) },
        },
      }),
    );
  } finally {
    db.destroy();
  }
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

interface ConsumerAnswer {
  functionError: string | undefined;
  errorType: string;
  errorMessage: string;
  /** The handler's result when it succeeded. */
  result: unknown;
}

async function invokeConsumer(event: unknown, functionName = DEFAULT_CONSUMER_NAME): Promise<ConsumerAnswer> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }));
  const body = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString() || "null") as { errorType?: string; errorMessage?: string } | null;
  return { functionError: out.FunctionError, errorType: body?.errorType ?? "", errorMessage: body?.errorMessage ?? "", result: body };
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
    assert.equal(r.errorType, fault.code, `the one record's own error, by name: ${r.errorMessage}`);
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

test("a gone object whose payload the idempotency store records as processed is a repeated delivery: acknowledged with a warning", async () => {
  const { key, meta } = await putNamedPayload();
  const first = await invokeConsumer(notification({ key, size: meta.size }));
  assert.deepEqual(first.result, { processed: [meta.id], repeated: [] }, first.errorMessage);
  assert.ok(!(await exists(key)), "deleted after processing");
  const again = await invokeConsumer(notification({ key, size: meta.size }));
  assert.deepEqual(again.result, { processed: [], repeated: [meta.id] }, again.errorMessage);
  const warnings = consumerLines((j) => String(j.message).includes("repeated delivery") && j.key === key);
  assert.deepEqual(warnings.map((w) => [w.level, w.id]), [["warn", meta.id]]);
  assert.equal(received(meta.id).length, 1);
});

test("a gone object whose payload is not recorded as processed is PayloadObjectMissingError: retried, then a failure record", async () => {
  const key = payloadObjectKey(PREFIX, { id: randomUUID(), format: "binary", sentAt: new Date().toISOString() });
  const failuresBefore = api.failures.length;
  await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(notification({ key, size: 10 }))) }));
  await api.idle();
  const failures = api.failures.slice(failuresBefore);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.record.requestContext.approximateInvokeCount, 3, "the first attempt and both retries");
  assert.equal(failures[0]!.record.responsePayload?.errorType, "PayloadObjectMissingError");
  assert.match(failures[0]!.record.responsePayload?.errorMessage ?? "", /is gone and payload [0-9a-f-]{36} is not recorded as processed \(idempotency status ABSENT\)/);
  assert.deepEqual(consumerLines((j) => String(j.message).includes("repeated delivery") && j.key === key), [], "never taken for a repeat");

  // A key that names no payload id cannot be vouched for at all.
  const odd = await invokeConsumer(notification({ key: `${PREFIX}no-id-here.txt`, size: 1 }));
  assert.equal(odd.errorType, "PayloadObjectMissingError");
  assert.match(odd.errorMessage, /its key names no payload id/);
});

test("a commit whose data object is missing is PayloadObjectMissingError and a failure record; the commit is kept, and processed once the data is there", async () => {
  const { key, commitKey, meta } = await putMultipart({ data: false });
  const event = notification({ key: commitKey, size: 0 });
  const failuresBefore = api.failures.length;
  await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(event)) }));
  await api.idle();
  const failures = api.failures.slice(failuresBefore);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.record.responsePayload?.errorType, "PayloadObjectMissingError");
  assert.ok(failures[0]!.record.responsePayload?.errorMessage.includes(`data object of the commit s3://${BUCKET}/${commitKey}`));
  assert.ok(await exists(commitKey), "the commit is not deleted: its payload was never processed");

  // The data arrives late; replaying the recorded event now processes the payload.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(`{"multipart":${JSON.stringify(meta.id)}}`), Metadata: { "payload-id": meta.id, [MULTIPART_METADATA.awaitingCommit]: "true" } }));
  const replay = await invokeConsumer(failures[0]!.record.requestPayload);
  assert.deepEqual(replay.result, { processed: [meta.id], repeated: [] }, replay.errorMessage);
  assert.equal(received(meta.id).length, 1);
  assert.ok(!(await exists(key)) && !(await exists(commitKey)), "data and commit deleted after processing");

  // A commit left behind after processing (its delete failed) is absorbed and removed.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: commitKey, Body: new Uint8Array(), Metadata: { ...toObjectMetadata(meta), [MULTIPART_METADATA.objectKey]: key } }));
  const leftover = await invokeConsumer(event);
  assert.deepEqual(leftover.result, { processed: [], repeated: [meta.id] }, leftover.errorMessage);
  assert.ok(!(await exists(commitKey)), "a processed payload's commit is cleaned up");
});

test("several failed records give one RecordsFailedError naming each record's error; the other records are still processed", async () => {
  const bad = `${PREFIX}tampered.json`;
  const good = `${PREFIX}good.json`;
  const gone = payloadObjectKey(PREFIX, { id: randomUUID(), format: "json", sentAt: new Date().toISOString() });
  const badMeta = await putPayload(bad.slice(PREFIX.length));
  const goodMeta = await putPayload(good.slice(PREFIX.length));
  // The sender recorded other bytes than the object now holds.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: bad, Body: Buffer.from("x".repeat(badMeta.size)), Metadata: toObjectMetadata(badMeta) }));
  const r = await invokeConsumer(notification({ key: bad, size: badMeta.size }, { key: good, size: goodMeta.size }, { key: gone, size: 5 }));
  assert.equal(r.functionError, "Unhandled", "a partial failure must fail the invocation, or the bad record is never retried");
  assert.equal(r.errorType, "RecordsFailedError");
  assert.match(
    r.errorMessage,
    new RegExp(`^2 of 3 records failed \\(InvalidPayloadError, PayloadObjectMissingError\\): s3://${BUCKET}/${bad}: InvalidPayloadError: .*sha256.*; s3://${BUCKET}/${gone}: PayloadObjectMissingError: `),
  );
  assert.equal(received(goodMeta.id).length, 1, "the good record after the bad one was processed");
  assert.ok(!(await exists(good)), "and deleted");
  assert.ok(await exists(bad), "the bad one is kept");
});

test("each failure kind reaches the failure record under its own name", async () => {
  const cases: Array<{ name: string; functionName?: string; setUp: () => Promise<{ key: string; size: number }> }> = [
    { name: "InjectedFault", functionName: FAILING, setUp: async () => named(await putNamedPayload()) },
    { name: "IdempotencyStoreError", functionName: STORE_DOWN, setUp: async () => named(await putNamedPayload()) },
    {
      name: "PayloadInProgressError",
      setUp: async () => {
        const p = await putNamedPayload();
        await putIdempotencyRecord(p.meta, "INPROGRESS"); // another delivery holds the lock
        return named(p);
      },
    },
    {
      name: "PayloadIdConflictError",
      setUp: async () => {
        const p = await putNamedPayload('{"version":1}');
        await putIdempotencyRecord({ id: p.meta.id, sha256: sha256Hex(Buffer.from("other bytes")) }, "COMPLETED");
        return named(p);
      },
    },
    { name: "PayloadObjectMissingError", setUp: async () => ({ key: payloadObjectKey(PREFIX, { id: randomUUID(), format: "json", sentAt: new Date().toISOString() }), size: 3 }) },
    {
      name: "InvalidPayloadError",
      setUp: async () => {
        const p = await putNamedPayload('{"amount":100}');
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: p.key, Body: Buffer.from('{"amount":900}'), Metadata: toObjectMetadata(p.meta) }));
        return named(p);
      },
    },
    { name: "EphemeralStorageTooSmallError", functionName: TINY_TMP, setUp: async () => named(await putNamedPayload(JSON.stringify("x".repeat(1_100_000)))) },
    {
      name: "AccessDenied",
      setUp: async () => {
        const p = await putNamedPayload();
        faults.set(p.key, { status: 403, code: "AccessDenied" });
        return named(p);
      },
    },
  ];
  const failuresBefore = api.failures.length;
  const sent = new Map<string, string>();
  for (const c of cases) {
    const { key, size } = await c.setUp();
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: c.functionName ?? DEFAULT_CONSUMER_NAME, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(notification({ key, size }))) }),
    );
    sent.set(key, c.name);
    assert.equal(out.StatusCode, 202);
  }
  await api.idle();
  const recorded = new Map(
    api.failures.slice(failuresBefore).map((f) => [JSON.stringify(f.record.requestPayload).match(/"key":"([^"]+)"/)![1]!, f.record.responsePayload?.errorType]),
  );
  for (const [key, name] of sent) assert.equal(recorded.get(encodeS3EventKey(key)), name, `${name}: ${key}`);
  assert.equal(recorded.size, cases.length);
});

function named(p: { key: string; meta: PayloadMeta }): { key: string; size: number } {
  return { key: p.key, size: p.meta.size };
}

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
