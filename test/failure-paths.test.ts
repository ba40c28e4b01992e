/**
 * What happens when things go wrong, through the deployable bundles in the local cloud: a 413
 * falls back to S3, a tampered object is rejected and kept, a repeated delivery is absorbed, and
 * malformed events and configuration get errors that say what is wrong. Nothing is lost.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import type { SenderResponse } from "../cli/sender-client.ts";
import { brotliCompressSync, constants as zlibConstants } from "node:zlib";
import { BINARY_INPUT_KEY, COMPRESSED_ENVELOPE_VERSION, DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, ENV, INLINE_ENVELOPE_KEY } from "../lib/contract.ts";
import { sha256Hex } from "../lib/payload-codec.ts";
import { toObjectMetadata } from "../lib/payload-object.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { startLambdaApi } from "../local/lambda-api.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { startPipeline, type Pipeline } from "./harness.ts";
import { incompressibleJsonPayloadWithInlineSize, jsonPayloadWithInlineSize, sha256 } from "../local/payloads.ts";

let bundles: Record<FunctionRole, Bundle>;
let workDir: string;
let cleanup: () => void;

before(async () => {
  ({ bundles, root: workDir, cleanup } = await bundleToTempDir());
});
after(() => cleanup());

function notification(bucket: string, key: string, size: number) {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventName: "ObjectCreated:Put",
        s3: { s3SchemaVersion: "1.0", bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeS3EventKey(key), size } },
      },
    ],
  };
}

describe("a cloud whose real Event limit (4 KiB) is lower than the sender's configured one (8 KiB)", () => {
  // A prefix with a space and a plus: S3 form-encodes both in notifications.
  const prefix = "in flight+payloads/";
  let p: Pipeline;
  let failureDir: string;
  before(async () => {
    failureDir = path.join(workDir, "failed-events");
    p = await startPipeline({
      bundles,
      settings: { inlineLimitBytes: 8192, prefix },
      eventLimitBytes: 4096,
      failureDir,
      asyncInvokeConfig: { maxRetryAttempts: 2, retryDelaysMs: [10, 20] },
    });
  });
  after(async () => p?.close());

  test("a 413 from Lambda falls back to S3, says why, and the payload is delivered intact", async () => {
    const built = jsonPayloadWithInlineSize(6000, "é😀");
    const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify(built.event));
    assert.equal(functionError, undefined, JSON.stringify(body));
    const r = body as SenderResponse;
    assert.equal(r.route, "s3");
    assert.equal(r.reason, "lambda-rejected-413");
    assert.ok(r.key?.startsWith(prefix), `key ${r.key} is under the prefix`);
    const warning = await p.cloud.waitForLog(DEFAULT_SENDER_NAME, (l) => l.includes("Lambda rejected the inline event as too large") && l.includes(r.id));
    assert.match(warning, /"inlineSize":6000/);
    assert.match(warning, /RequestEntityTooLargeException/);
    const delivered = await p.delivery(r.id);
    assert.equal(delivered.route, "s3");
    assert.equal(delivered.sha256, sha256(built.bytes));
    assert.equal(p.cloud.lambda.stats(DEFAULT_CONSUMER_NAME).rejectedTooLarge, 1);
  });

  test("a tampered object is rejected after Lambda's retries, recorded for an operator, and kept in the bucket", async () => {
    const original = Buffer.from('{"amount":100}');
    const tampered = Buffer.from('{"amount":900}');
    const meta = { id: "tampered-1", format: "json" as const, size: original.length, sha256: sha256Hex(original), sentAt: new Date().toISOString() };
    const key = `${prefix}2026/11/23/tampered 1+x.json`;
    const failuresBefore = p.cloud.lambda.failures.length;
    await p.s3.send(new PutObjectCommand({ Bucket: p.cloud.settings.bucket, Key: key, Body: tampered, Metadata: toObjectMetadata(meta) }));
    await p.cloud.idle();

    const failures = p.cloud.lambda.failures.slice(failuresBefore);
    assert.equal(failures.length, 1, "one event went to the failure destination");
    const record = failures[0]!.record;
    assert.equal(record.requestContext.condition, "RetriesExhausted");
    assert.equal(record.requestContext.approximateInvokeCount, 3, "first attempt plus two retries");
    assert.match(record.responsePayload?.errorMessage ?? "", /has sha256 [0-9a-f]{64}; the sender recorded/);
    assert.ok(record.responsePayload?.errorMessage.includes(key), "the error names the object");
    const onDisk = JSON.parse(await readFile(failures[0]!.file!, "utf8")) as typeof record;
    assert.deepEqual(onDisk.requestPayload, record.requestPayload);
    assert.ok(failures[0]!.file!.startsWith(failureDir));
    const recordPrefix = `s3://${p.cloud.failureBucket}/aws/lambda/async/${DEFAULT_CONSUMER_NAME}/`;
    assert.ok(failures[0]!.location?.startsWith(recordPrefix), `${failures[0]!.location} is under ${recordPrefix}`);
    const kept = await p.s3.send(new HeadObjectCommand({ Bucket: p.cloud.settings.bucket, Key: key }));
    assert.equal(kept.ContentLength, tampered.length, "the object stays for an operator to inspect");
  });

  test("a repeated notification for an already processed object is absorbed and logged", async () => {
    const big = incompressibleJsonPayloadWithInlineSize(9000);
    const { body } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify(big.event));
    const r = body as SenderResponse;
    assert.equal(r.route, "s3");
    await p.delivery(r.id);
    await p.cloud.idle();
    const listed = await p.s3.send(new ListObjectsV2Command({ Bucket: p.cloud.settings.bucket, Prefix: r.key }));
    assert.equal(listed.KeyCount, 0, "the consumer deleted the object after processing");

    const failuresBefore = p.cloud.lambda.failures.length;
    const again = await p.invoke(DEFAULT_CONSUMER_NAME, JSON.stringify(notification(p.cloud.settings.bucket, r.key!, r.size)));
    assert.equal(again.functionError, undefined, JSON.stringify(again.body));
    const line = await p.cloud.waitForLog(DEFAULT_CONSUMER_NAME, (l) => l.includes("repeated delivery") && l.includes(JSON.stringify(r.key).slice(1, -1)));
    assert.equal(parseJsonLine(line)?.level, "warn");
    assert.equal(p.cloud.lambda.failures.length, failuresBefore);
  });

  test("malformed events are refused with an error that says what is wrong", async () => {
    const bucket = p.cloud.settings.bucket;
    const cases: Array<[string, unknown, RegExp]> = [
      [DEFAULT_CONSUMER_NAME, { foo: 1 }, /neither an inline payload envelope nor an S3 notification.*top-level keys: foo/],
      [DEFAULT_CONSUMER_NAME, [1, 2], /neither an inline payload envelope nor an S3 notification/],
      [DEFAULT_CONSUMER_NAME, notification("someone-elses-bucket", `${prefix}x.json`, 1), /Refusing s3:\/\/someone-elses-bucket\/in flight\+payloads\/x\.json: this consumer only reads s3:\/\/lambda-s3-async-lambda-local\/in flight\+payloads\/\*/],
      [DEFAULT_CONSUMER_NAME, notification(bucket, "elsewhere/x.json", 1), /Refusing s3:\/\/[^/]+\/elsewhere\/x\.json/],
      [DEFAULT_CONSUMER_NAME, { Records: [{ eventSource: "aws:s3", eventName: "ObjectRemoved:Delete", s3: {} }] }, /eventName is "ObjectRemoved:Delete", expected ObjectCreated/],
      [DEFAULT_CONSUMER_NAME, { [INLINE_ENVELOPE_KEY]: { v: 1, id: "x" }, payload: {} }, /lambdaS3AsyncPayload\.format is undefined/],
      [DEFAULT_SENDER_NAME, { [BINARY_INPUT_KEY]: "not base64!" }, /event\.\$base64 is not valid base64/],
    ];
    for (const [fn, event, message] of cases) {
      const { body, functionError } = await p.invoke(fn, JSON.stringify(event));
      assert.equal(functionError, "Unhandled", `${fn} accepted ${JSON.stringify(event)}`);
      assert.match((body as { errorMessage: string }).errorMessage, message);
    }
  });

  test("a compressed inline event that is a bomb, lies about its size, or has bytes after its brotli stream is refused by name and never processed", async () => {
    const huge = Buffer.alloc(20 * 1_048_576, "a");
    const bomb = brotliCompressSync(huge, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } });
    const envelope = (size: number, id: string) => ({
      [INLINE_ENVELOPE_KEY]: { v: COMPRESSED_ENVELOPE_VERSION, id, format: "json", size, sha256: sha256Hex(huge), sentAt: new Date().toISOString(), encoding: "br" },
      payload: bomb.toString("base64"),
    });
    const small = Buffer.from('{"valid":"body"}');
    const trailing = {
      [INLINE_ENVELOPE_KEY]: { v: COMPRESSED_ENVELOPE_VERSION, id: "bomb-trailing", format: "json", size: small.length, sha256: sha256Hex(small), sentAt: new Date().toISOString(), encoding: "br" },
      payload: Buffer.concat([brotliCompressSync(small), Buffer.from("trailing garbage")]).toString("base64"),
    };
    const cases: Array<[unknown, string, RegExp]> = [
      [envelope(huge.length, "bomb-honest"), "DecompressionBombError", /recorded size 20971520 is more than the 16777216 bytes/],
      [envelope(1000, "bomb-lying"), "DecompressionBombError", /expands to more than the 1000 bytes the sender recorded/],
      [trailing, "TrailingCompressedBytesError", /has 16 bytes after the end of its br stream/],
    ];
    for (const [event, errorType, message] of cases) {
      const { body, functionError } = await p.invoke(DEFAULT_CONSUMER_NAME, JSON.stringify(event));
      assert.equal(functionError, "Unhandled");
      const error = body as { errorType: string; errorMessage: string };
      assert.equal(error.errorType, errorType);
      assert.match(error.errorMessage, message);
    }
    assert.ok(!p.cloud.logs.some((l) => l.line.includes('"payload received"') && l.line.includes("bomb-")), "nothing was handed to processPayload");
  });

  test("s3:TestEvent is ignored", async () => {
    const event = { Service: "Amazon S3", Event: "s3:TestEvent", Time: new Date().toISOString(), Bucket: p.cloud.settings.bucket };
    const { functionError } = await p.invoke(DEFAULT_CONSUMER_NAME, JSON.stringify(event));
    assert.equal(functionError, undefined);
    await p.cloud.waitForLog(DEFAULT_CONSUMER_NAME, (l) => l.includes("ignoring s3:TestEvent"));
  });
});

describe("switches: always S3, keep objects", () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles, settings: { alwaysS3: true, deleteAfterProcessing: false } });
  });
  after(async () => p?.close());

  test("a tiny payload goes through S3 and the object is kept after processing", async () => {
    const { body } = await p.invoke(DEFAULT_SENDER_NAME, '{"key":"value"}');
    const r = body as SenderResponse;
    assert.equal(r.route, "s3");
    assert.equal(r.reason, "always-s3");
    const delivered = await p.delivery(r.id);
    assert.equal(delivered.sha256, sha256('{"key":"value"}'));
    await p.cloud.idle();
    const kept = await p.s3.send(new HeadObjectCommand({ Bucket: p.cloud.settings.bucket, Key: r.key }));
    assert.equal(kept.ContentLength, 15);
    assert.equal(kept.Metadata?.["payload-sha256"], r.sha256);
  });
});

test("a function missing a required variable fails every invocation with a message naming it", async () => {
  const api = await startLambdaApi({
    functions: [{ name: "Broken", bundleFile: bundles.consumer.file, environment: { [ENV.prefix]: "payloads/" } }],
  });
  try {
    const res = await fetch(`${api.endpoint}/2015-03-31/functions/Broken/invocations`, { method: "POST", body: "{}" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-amz-function-error"), "Unhandled");
    const error = (await res.json()) as { errorMessage: string };
    assert.match(error.errorMessage, /Missing required environment variable PAYLOAD_BUCKET/);
  } finally {
    await api.close();
  }
});
