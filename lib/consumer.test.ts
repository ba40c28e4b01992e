/**
 * createConsumerHandler's own contract: options are checked when the handler is created, by name,
 * and a consumer without processPayloadStream still receives large payloads (read into memory).
 * What the handler does with events is tested end to end through the bundles (test/).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigurationError } from "./env.ts";
import { createConsumerHandler, InvalidConsumerOptionsError, type ConsumerHandlerOptions } from "./consumer.ts";

const environment = { PAYLOAD_BUCKET: "b", IDEMPOTENCY_TABLE: "t" };

for (const [name, options, message] of [
  ["no options", undefined, "createConsumerHandler needs an options object with processPayload; got undefined"],
  ["processPayload missing", { environment }, "processPayload must be a function (bytes, meta) => Promise<void>; got undefined"],
  ["processPayloadStream not a function", { environment, processPayload: async () => {}, processPayloadStream: "stream" }, "processPayloadStream must be a function (stream, meta) => Promise<void> when given; got string"],
  ["a misspelled option", { environment, processPayload: async () => {}, processPayloadStrean: async () => {} }, "Unknown option processPayloadStrean for createConsumerHandler; known: processPayload, processPayloadStream, environment"],
] as const) {
  test(`${name}: InvalidConsumerOptionsError naming it`, () => {
    assert.throws(() => createConsumerHandler(options as unknown as ConsumerHandlerOptions), (err: Error) => err instanceof InvalidConsumerOptionsError && err.message === message);
  });
}

test("a missing environment variable fails when the handler is created, naming the variable", () => {
  assert.throws(() => createConsumerHandler({ processPayload: async () => {}, environment: { PAYLOAD_BUCKET: "b" } }), (err: Error) => err instanceof ConfigurationError && err.message === "Missing required environment variable IDEMPOTENCY_TABLE");
});
