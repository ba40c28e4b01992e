/**
 * What redrive does with the consumer's answers that the local cloud cannot produce on demand:
 * a payload another delivery is processing right now (the local Lambda runs one invocation at a
 * time), and consumers that answer without saying what they processed. Real local S3; the Lambda
 * client is a fault-injecting stand-in that answers with what a consumer would.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startLocalS3, type LocalS3 } from "../local/s3.ts";
import { failureRecordKey } from "./failure-records.ts";
import { redrive, type RedriveTarget } from "./redrive.ts";

const PAYLOADS = "redrive-test-payloads";
const FAILURES = "redrive-test-failures";
const FN = "Consumer";

let s3rver: LocalS3;
let s3: S3Client;
before(async () => {
  s3rver = await startLocalS3({ bucket: PAYLOADS, otherBuckets: [FAILURES] });
  s3 = new S3Client({ endpoint: s3rver.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "l", secretAccessKey: "l" } });
});
after(async () => {
  s3?.destroy();
  await s3rver?.close();
});

type Reply = { error: string; message?: string } | { result: unknown };

/** A consumer that gives these replies in turn (the last one repeats); counts its invocations. */
function consumer(...replies: Reply[]): LambdaClient & { calls: number } {
  const fake = {
    calls: 0,
    async send() {
      const reply = replies[Math.min(fake.calls++, replies.length - 1)]!;
      if ("error" in reply) {
        return { FunctionError: "Unhandled", Payload: Buffer.from(JSON.stringify({ errorType: reply.error, errorMessage: reply.message ?? "" })) };
      }
      return { Payload: Buffer.from(JSON.stringify(reply.result)) };
    },
  };
  return fake as unknown as LambdaClient & { calls: number };
}

/** A failure record of an S3-route event for a payload object, which exists only if `present`. */
async function putRecord(present: boolean): Promise<{ id: string; recordKey: string }> {
  const id = randomUUID();
  const key = `payloads/2026/12/05/${id}.json`;
  if (present) await s3.send(new PutObjectCommand({ Bucket: PAYLOADS, Key: key, Body: "{}" }));
  const recordKey = failureRecordKey(FN, new Date(), randomUUID());
  const record = {
    version: "1.0",
    timestamp: new Date().toISOString(),
    requestContext: { requestId: randomUUID(), functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${FN}`, condition: "RetriesExhausted", approximateInvokeCount: 3 },
    requestPayload: { Records: [{ eventSource: "aws:s3", s3: { bucket: { name: PAYLOADS }, object: { key, size: 2 } } }] },
    responsePayload: { errorType: "InjectedFault", errorMessage: "down" },
  };
  await s3.send(new PutObjectCommand({ Bucket: FAILURES, Key: recordKey, Body: JSON.stringify(record) }));
  return { id, recordKey };
}

async function recordExists(recordKey: string): Promise<boolean> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: FAILURES, Prefix: recordKey }));
  return (listed.KeyCount ?? 0) > 0;
}

const target = (lambda: LambdaClient): RedriveTarget => ({ s3, lambda, failureBucket: FAILURES, functionName: FN });

async function replayOne(lambda: LambdaClient, id: string) {
  const report = await redrive(target(lambda), { replay: true, filter: { ids: [id] }, inProgressRetryDelaysMs: [5, 5] });
  assert.equal(report.entries.length, 1);
  return report;
}

test("a payload in progress elsewhere is asked about again; once the store has it processed, the record goes as already processed", async () => {
  const { id, recordKey } = await putRecord(true);
  const lambda = consumer({ error: "PayloadInProgressError" }, { result: { processed: [], repeated: [id] } });
  const report = await replayOne(lambda, id);
  assert.deepEqual(report.entries[0]!.outcome, { kind: "already-processed" });
  assert.deepEqual([report.replayed, report.alreadyProcessed, report.kept], [0, 1, 0], "not counted as replayed by this run");
  assert.equal(lambda.calls, 2);
  assert.equal(await recordExists(recordKey), false);
});

test("a payload that stays in progress keeps its record, naming the error", async () => {
  const { id, recordKey } = await putRecord(true);
  const lambda = consumer({ error: "PayloadInProgressError", message: "being processed by another delivery" });
  const report = await replayOne(lambda, id);
  const outcome = report.entries[0]!.outcome;
  assert.equal(outcome.kind, "replay-failed");
  assert.match(outcome.kind === "replay-failed" ? outcome.error : "", /PayloadInProgressError: being processed by another delivery/);
  assert.equal(lambda.calls, 3, "the first try and the two waits");
  assert.equal(await recordExists(recordKey), true);
});

test("a gone payload object: the record goes only on the store's word, relayed by the consumer", async () => {
  const processedBefore = await putRecord(false);
  const repeated = await replayOne(consumer({ result: { processed: [], repeated: [processedBefore.id] } }), processedBefore.id);
  assert.deepEqual(repeated.entries[0]!.outcome, { kind: "already-processed" });
  assert.equal(await recordExists(processedBefore.recordKey), false);

  const neverProcessed = await putRecord(false);
  const missing = await replayOne(consumer({ error: "PayloadObjectMissingError", message: "gone and not recorded as processed" }), neverProcessed.id);
  assert.equal(missing.entries[0]!.outcome.kind, "payload-gone");
  assert.equal(await recordExists(neverProcessed.recordKey), true);

  // A consumer that succeeds without saying what it did (an older one treated a gone object as
  // done) is not trusted with a gone object.
  const silent = await putRecord(false);
  const report = await replayOne(consumer({ result: null }), silent.id);
  assert.deepEqual(report.entries[0]!.outcome, { kind: "payload-gone", objects: [`s3://${PAYLOADS}/payloads/2026/12/05/${silent.id}.json`], checked: false });
  assert.equal(await recordExists(silent.recordKey), true);
});

