import assert from "node:assert/strict";
import { test } from "node:test";
import { failureRecordKey, formatAge, parseDuration, recordKeyTime, summarizeFailureRecord, UnreadableRecordError } from "./failure-records.ts";

test("record keys follow Lambda's S3 destination layout", () => {
  const key = failureRecordKey("AsynchronousFunction", new Date("2026-03-04T05:06:07.891Z"), "0f0e0d0c-0000-4000-8000-000000000001");
  assert.equal(key, "aws/lambda/async/AsynchronousFunction/2026/03/04/2026-03-04T05.06.07-0f0e0d0c-0000-4000-8000-000000000001");
  assert.equal(recordKeyTime(key)?.toISOString(), "2026-03-04T05:06:07.000Z", "an unreadable record still has an age");
  assert.equal(recordKeyTime("aws/lambda/async/F/elsewhere"), undefined);
});

test("a record is summarized by payload id, route, size, error and age", () => {
  const now = new Date("2026-03-04T06:06:07.000Z");
  const base = { version: "1.0", timestamp: "2026-03-04T05:06:07.000Z", requestContext: { requestId: "r1", functionArn: "arn", condition: "RetriesExhausted", approximateInvokeCount: 3 } };
  const inline = summarizeFailureRecord("k1", JSON.stringify({ ...base, requestPayload: { lambdaS3AsyncPayload: { id: "p1", size: 15 }, payload: {} }, responsePayload: { errorType: "E", errorMessage: "boom" } }), now);
  assert.deepEqual([inline.route, inline.id, inline.size, inline.error, inline.ageMs, inline.attempts], ["inline", "p1", 15, "E: boom", 3_600_000, 3]);
  const s3Event = { Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "b" }, object: { key: "payloads/2026/03/04/p%2B2+x.json", size: 9 } } }] };
  const viaS3 = summarizeFailureRecord("k2", JSON.stringify({ ...base, requestContext: { ...base.requestContext, condition: "EventAgeExceeded" }, requestPayload: s3Event }), now);
  assert.deepEqual([viaS3.route, viaS3.id, viaS3.size, viaS3.objects], ["s3", "p+2 x", 9, [{ bucket: "b", key: "payloads/2026/03/04/p+2 x.json", commit: false }]]);
  assert.match(viaS3.error, /^EventAgeExceeded/);
  // A multipart payload's event reports its empty commit object: the id is in the key, the size is not in the event.
  const commitEvent = { Records: [{ eventSource: "aws:s3", s3: { bucket: { name: "b" }, object: { key: "payloads/2026/03/04/m-1.bin.commit", size: 0 } } }] };
  const multipart = summarizeFailureRecord("k3", JSON.stringify({ ...base, requestPayload: commitEvent }), now);
  assert.deepEqual([multipart.id, multipart.size, multipart.objects], ["m-1", undefined, [{ bucket: "b", key: "payloads/2026/03/04/m-1.bin.commit", commit: true }]]);
});

test("unreadable records are named with what is wrong", () => {
  assert.throws(() => summarizeFailureRecord("k", "{", new Date()), (e) => e instanceof UnreadableRecordError && /^k is not JSON/.test(e.message));
  assert.throws(() => summarizeFailureRecord("k", "{}", new Date()), /k has no requestContext object/);
  assert.throws(() => summarizeFailureRecord("k", '{"requestContext":{},"requestPayload":1,"timestamp":"x"}', new Date()), /k has timestamp "x"/);
});

test("ages are parsed and printed the way an operator writes them", () => {
  assert.deepEqual(["90s", "15m", "2h", "3d", "1.5h", "45"].map(parseDuration), [90_000, 900_000, 7_200_000, 259_200_000, 5_400_000, 45_000]);
  assert.deepEqual(["soon", "-1h", "2w", ""].map(parseDuration), [undefined, undefined, undefined, undefined]);
  assert.deepEqual([5_000, 125_000, 3_600_000, 3_900_000, 90_000_000].map(formatAge), ["5s", "2m", "1h", "1h 5m", "1d 1h"]);
});
