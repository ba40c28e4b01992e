import assert from "node:assert/strict";
import { test } from "node:test";
import { isNoSuchKey, isPayloadTooLarge } from "./aws-errors.ts";

const sdkError = (name: string, httpStatusCode: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

test("only a missing key counts as NoSuchKey: never a missing bucket, a denial, a server error or throttling", () => {
  assert.ok(isNoSuchKey(sdkError("NoSuchKey", 404)));
  // HeadObject has no body to carry a code, so the SDK names a 404 "NotFound".
  assert.ok(isNoSuchKey(sdkError("NotFound", 404)));
  for (const [name, status] of [
    ["NoSuchBucket", 404],
    ["AccessDenied", 403],
    ["InternalError", 500],
    ["SlowDown", 503],
    ["NotFound", 400],
    ["TimeoutError", 0],
  ] as const) {
    assert.ok(!isNoSuchKey(sdkError(name, status)), `${name} (${status}) is not a missing key`);
  }
  assert.ok(!isNoSuchKey("NoSuchKey") && !isNoSuchKey(null) && !isNoSuchKey(undefined));
});

test("a 413 is recognised by name or by status, as the SDK may surface it either way", () => {
  assert.ok(isPayloadTooLarge(sdkError("RequestEntityTooLargeException", 413)));
  assert.ok(isPayloadTooLarge(sdkError("LambdaServiceException", 413)));
  assert.ok(isPayloadTooLarge({ name: "RequestEntityTooLargeException" }));
  assert.ok(!isPayloadTooLarge(sdkError("ResourceNotFoundException", 404)));
  assert.ok(!isPayloadTooLarge(sdkError("TooManyRequestsException", 429)));
});
