import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULTS, ENV } from "./contract";
import { ConfigurationError } from "./env";
import { consumerConfig, senderConfig } from "./function-config";

const sender = { [ENV.bucket]: "b", [ENV.consumerFunction]: "AsynchronousFunction" };

test("sender defaults come from the contract", () => {
  assert.deepEqual(senderConfig(sender), {
    bucket: "b",
    consumerFunction: "AsynchronousFunction",
    prefix: DEFAULTS.prefix,
    inlineLimitBytes: DEFAULTS.inlineLimit,
    alwaysS3: false,
    compressInline: true,
  });
  assert.deepEqual(consumerConfig({ [ENV.bucket]: "b" }), { bucket: "b", prefix: DEFAULTS.prefix, deleteAfterProcessing: true });
});

test("a missing variable is named", () => {
  assert.throws(() => senderConfig({ [ENV.bucket]: "b" }), (e: Error) => e instanceof ConfigurationError && e.message === `Missing required environment variable ${ENV.consumerFunction}`);
  assert.throws(() => consumerConfig({}), new RegExp(`Missing required environment variable ${ENV.bucket}$`));
  assert.throws(() => consumerConfig({ [ENV.bucket]: "  " }), /PAYLOAD_BUCKET/);
});

test("bad values are named with what is allowed", () => {
  assert.throws(() => senderConfig({ ...sender, [ENV.inlineLimit]: "1MB" }), /INLINE_LIMIT_BYTES is "1MB"; expected an integer from 1/);
  assert.throws(() => senderConfig({ ...sender, [ENV.inlineLimit]: "0" }), /INLINE_LIMIT_BYTES is "0"/);
  assert.throws(() => senderConfig({ ...sender, [ENV.alwaysS3]: "yes" }), /ALWAYS_S3 is "yes"; expected "true" or "false"/);
  assert.throws(() => senderConfig({ ...sender, [ENV.compressInline]: "off" }), /COMPRESS_INLINE is "off"; expected "true" or "false"/);
  assert.equal(senderConfig({ ...sender, [ENV.compressInline]: "false" }).compressInline, false);
  assert.throws(() => consumerConfig({ [ENV.bucket]: "b", [ENV.deleteAfterProcessing]: "1" }), /DELETE_AFTER_PROCESSING is "1"/);
  assert.equal(senderConfig({ ...sender, [ENV.inlineLimit]: "262144", [ENV.alwaysS3]: "true" }).inlineLimitBytes, 262144);
});
