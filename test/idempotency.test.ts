/**
 * Exactly-once processing under duplicate deliveries, through the deployable consumer bundle in
 * the local cloud (local DynamoDB is dynalite on loopback): the same inline event twice, the same
 * S3 notification to two consumer environments at once, a redelivery when objects are kept, and
 * the same id with other bytes. Observed, as an operator would, through the consumer's log.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import { consumerEnvironment, DEFAULT_CONSUMER_NAME } from "../lib/contract.ts";
import { inlineEnvelope, sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { payloadObjectKey, toObjectMetadata } from "../lib/payload-object.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { startLambdaApi } from "../local/lambda-api.ts";
import { startPipeline, type Pipeline } from "./harness.ts";

let bundles: Record<FunctionRole, Bundle>;
let cleanup: () => void;

before(async () => {
  ({ bundles, cleanup } = await bundleToTempDir());
});
after(() => cleanup());

/** The consumer's JSON log lines with this message and payload id. */
function lines(p: Pipeline, message: string, id: string): Record<string, unknown>[] {
  return p.cloud.logs
    .filter((l) => l.functionName === DEFAULT_CONSUMER_NAME)
    .map((l) => parseJsonLine(l.line))
    .filter((j): j is Record<string, unknown> => j?.message === message && j.id === id);
}

const RECEIVED = "payload received";
const ABSORBED = "repeated delivery absorbed: payload already processed";

function inlineEvent(text: string, id: string): { body: Buffer; meta: PayloadMeta } {
  const bytes = Buffer.from(text);
  const meta: PayloadMeta = { id, format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  return { body: inlineEnvelope(meta, bytes).body(), meta };
}

function notification(bucket: string, key: string, size: number): Buffer {
  const record = {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventName: "ObjectCreated:Put",
    s3: { s3SchemaVersion: "1.0", bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeS3EventKey(key), size } },
  };
  return Buffer.from(JSON.stringify({ Records: [record] }));
}

// One pipeline for every case, keeping objects after processing, so a redelivered notification
// finds its object instead of being absorbed by the missing-object rule.
describe("a pipeline that keeps objects after processing (deleteAfterProcessing off)", () => {
  let p: Pipeline;
  before(async () => {
    p = await startPipeline({ bundles, settings: { deleteAfterProcessing: false }, asyncInvokeConfig: { maxRetryAttempts: 2, retryDelaysMs: [200, 400] } });
  });
  after(async () => p?.close());

  test("the same inline event delivered twice is processed once; the repeat is absorbed and logged", async () => {
    const { body, meta } = inlineEvent('{"order":42}', "inline-twice");
    p.cloud.lambda.invokeAsync(DEFAULT_CONSUMER_NAME, body);
    p.cloud.lambda.invokeAsync(DEFAULT_CONSUMER_NAME, body);
    await p.cloud.idle();
    assert.equal(lines(p, RECEIVED, meta.id).length, 1);
    assert.deepEqual(lines(p, ABSORBED, meta.id), [{ level: "info", message: ABSORBED, id: meta.id, route: "inline", sha256: meta.sha256 }]);
    assert.equal(p.cloud.lambda.failures.length, 0);
  });

  test("the same id with different bytes is refused with an error naming the conflict, and not processed", async () => {
    const first = inlineEvent('{"v":1}', "conflicting-id");
    assert.equal((await p.invoke(DEFAULT_CONSUMER_NAME, first.body)).functionError, undefined);
    const second = inlineEvent('{"v":2}', "conflicting-id");
    const { functionError, body } = await p.invoke(DEFAULT_CONSUMER_NAME, second.body);
    assert.equal(functionError, "Unhandled");
    const error = body as { errorType: string; errorMessage: string };
    assert.equal(error.errorType, "PayloadIdConflictError");
    assert.match(error.errorMessage, /^Payload conflicting-id was seen before with a different sha256 \(this delivery has [0-9a-f]{64}\)/);
    assert.equal(lines(p, RECEIVED, "conflicting-id").length, 1);
  });


  async function putPayload(id: string, text: string): Promise<{ key: string; bytes: Buffer; meta: PayloadMeta }> {
    const bytes = Buffer.from(text);
    const meta: PayloadMeta = { id, format: "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
    const key = payloadObjectKey(p.cloud.settings.prefix, meta);
    await p.s3.send(new PutObjectCommand({ Bucket: p.cloud.settings.bucket, Key: key, Body: bytes, Metadata: toObjectMetadata(meta) }));
    return { key, bytes, meta };
  }

  test("a redelivered S3 notification finds the object still there and is absorbed, not processed again", async () => {
    const { key, bytes } = await putPayload("redelivered", '{"kept":true}');
    await p.delivery("redelivered");
    await p.cloud.idle();
    p.cloud.lambda.invokeAsync(DEFAULT_CONSUMER_NAME, notification(p.cloud.settings.bucket, key, bytes.length));
    await p.cloud.idle();
    assert.equal(lines(p, RECEIVED, "redelivered").length, 1);
    assert.deepEqual(
      lines(p, ABSORBED, "redelivered").map((l) => [l.route, l.key]),
      [["s3", key]],
    );
    assert.equal(p.cloud.lambda.failures.length, 0);
  });

  test("the same S3 notification to two consumer environments at once is processed once; nothing fails for good", async () => {
    // A second Lambda service running the same consumer bundle against the same S3 and DynamoDB:
    // two execution environments, as Lambda scales out on concurrent events.
    const otherLogs: string[] = [];
    const other = await startLambdaApi({
      functions: [{ name: DEFAULT_CONSUMER_NAME, bundleFile: bundles.consumer.file, environment: consumerEnvironment(p.cloud.settings) }],
      environment: { AWS_ENDPOINT_URL_S3: p.cloud.s3Endpoint, AWS_ENDPOINT_URL_DYNAMODB: p.cloud.dynamodb.endpoint },
      asyncInvokeConfig: { maxRetryAttempts: 2, retryDelaysMs: [200, 400] },
      onLog: (_name, line) => otherLogs.push(line),
    });
    try {
      const id = "two-environments";
      // S3's own notification reaches the first environment; the same notification goes to both
      // environments as duplicates at the same moment.
      const { key, bytes } = await putPayload(id, '{"concurrent":true}');
      const event = notification(p.cloud.settings.bucket, key, bytes.length);
      p.cloud.lambda.invokeAsync(DEFAULT_CONSUMER_NAME, event);
      other.invokeAsync(DEFAULT_CONSUMER_NAME, event);
      other.invokeAsync(DEFAULT_CONSUMER_NAME, event);
      await Promise.all([p.cloud.idle(), other.idle()]);
      const all = [...lines(p, RECEIVED, id), ...otherLogs.map(parseJsonLine).filter((j) => j?.message === RECEIVED && j.id === id)];
      const absorbed = [...lines(p, ABSORBED, id), ...otherLogs.map(parseJsonLine).filter((j) => j?.message === ABSORBED && j.id === id)];
      assert.equal(all.length, 1, "processed once across both environments");
      assert.equal(absorbed.length, 3, "every other delivery was absorbed (some perhaps after an in-progress retry)");
      assert.equal(p.cloud.lambda.failures.length + other.failures.length, 0, "no delivery failed for good");
      assert.ok(other.stats(DEFAULT_CONSUMER_NAME).runs >= 2, "the second environment did run the duplicates");
    } finally {
      await other.close();
    }
  });
});
