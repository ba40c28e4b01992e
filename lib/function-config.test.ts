import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULTS, ENV } from "./contract.ts";
import { ConfigurationError } from "./env.ts";
import { consumerConfig, senderConfig } from "./function-config.ts";

const sender = { [ENV.bucket]: "b", [ENV.consumerFunction]: "AsynchronousFunction" };
const consumer = { [ENV.bucket]: "b", [ENV.idempotencyTable]: "t" };
const sdkTimeouts = { connectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs, requestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs };

test("sender defaults come from the contract", () => {
  assert.deepEqual(senderConfig(sender), {
    bucket: "b",
    consumerFunction: "AsynchronousFunction",
    prefix: DEFAULTS.prefix,
    inlineLimitBytes: DEFAULTS.inlineLimit,
    alwaysS3: false,
    compressInline: true,
    sdkTimeouts,
  });
  assert.deepEqual(consumerConfig(consumer), {
    bucket: "b",
    prefix: DEFAULTS.prefix,
    deleteAfterProcessing: true,
    idempotency: { tableName: "t", expiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds },
    sdkTimeouts,
    streamAboveBytes: DEFAULTS.streamAboveBytes,
  });
});

test("a missing variable is named", () => {
  assert.throws(() => senderConfig({ [ENV.bucket]: "b" }), (e: Error) => e instanceof ConfigurationError && e.message === `Missing required environment variable ${ENV.consumerFunction}`);
  assert.throws(() => consumerConfig({}), new RegExp(`Missing required environment variable ${ENV.bucket}$`));
  assert.throws(() => consumerConfig({ [ENV.bucket]: "  " }), /PAYLOAD_BUCKET/);
  assert.throws(() => consumerConfig({ [ENV.bucket]: "b" }), new RegExp(`Missing required environment variable ${ENV.idempotencyTable}$`));
});

test("bad values are named with what is allowed", () => {
  assert.throws(() => senderConfig({ ...sender, [ENV.inlineLimit]: "1MB" }), /INLINE_LIMIT_BYTES is "1MB"; expected an integer from 1/);
  assert.throws(() => senderConfig({ ...sender, [ENV.inlineLimit]: "0" }), /INLINE_LIMIT_BYTES is "0"/);
  assert.throws(() => senderConfig({ ...sender, [ENV.alwaysS3]: "yes" }), /ALWAYS_S3 is "yes"; expected "true" or "false"/);
  assert.throws(() => senderConfig({ ...sender, [ENV.compressInline]: "off" }), /COMPRESS_INLINE is "off"; expected "true" or "false"/);
  assert.equal(senderConfig({ ...sender, [ENV.compressInline]: "false" }).compressInline, false);
  assert.throws(() => consumerConfig({ ...consumer, [ENV.deleteAfterProcessing]: "1" }), /DELETE_AFTER_PROCESSING is "1"/);
  assert.throws(() => consumerConfig({ ...consumer, [ENV.idempotencyExpiresAfterSeconds]: "1d" }), /IDEMPOTENCY_EXPIRES_AFTER_SECONDS is "1d"; expected an integer from 1 to 31536000/);
  assert.throws(() => senderConfig({ ...sender, [ENV.sdkRequestTimeoutMs]: "0" }), /SDK_REQUEST_TIMEOUT_MS is "0"; expected an integer from 1 to 900000/);
  assert.throws(() => consumerConfig({ ...consumer, [ENV.sdkConnectionTimeoutMs]: "2s" }), /SDK_CONNECTION_TIMEOUT_MS is "2s"/);
  assert.deepEqual(senderConfig({ ...sender, [ENV.sdkConnectionTimeoutMs]: "100", [ENV.sdkRequestTimeoutMs]: "250" }).sdkTimeouts, { connectionTimeoutMs: 100, requestTimeoutMs: 250 });
  assert.equal(senderConfig({ ...sender, [ENV.inlineLimit]: "262144", [ENV.alwaysS3]: "true" }).inlineLimitBytes, 262144);
});
