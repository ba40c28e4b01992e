/**
 * Timeouts and limits, through the deployable bundles: an AWS endpoint that accepts connections
 * and never answers (fault injection: a real loopback TCP server) ends in a named SDK timeout
 * error well inside the function timeout, after the SDK's own retries; JSON nested far deeper
 * than `JSON.stringify` can write arrives byte-identical on both routes.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import type { SenderResponse } from "../cli/sender-client.ts";
import { DEFAULT_SENDER_NAME, ENV } from "../lib/contract.ts";
import { inlineEnvelope, sha256Hex } from "../lib/payload-codec.ts";
import { startLambdaApi } from "../local/lambda-api.ts";
import { sha256 } from "../local/payloads.ts";
import { startPipeline, type Pipeline } from "./harness.ts";

let bundles: Record<FunctionRole, Bundle>;
let cleanup: () => void;

before(async () => {
  ({ bundles, cleanup } = await bundleToTempDir());
});
after(() => cleanup());

/** Accepts every connection and never sends a byte: a hung endpoint. */
async function hungEndpoint(): Promise<{ endpoint: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const FUNCTION_TIMEOUT_S = 20;
const TIMEOUTS = { [ENV.sdkConnectionTimeoutMs]: "500", [ENV.sdkRequestTimeoutMs]: "300" };

/** Runs one function whose AWS endpoint for `service` hangs; returns the error and what it cost. */
async function againstHungEndpoint(role: FunctionRole, endpointVariable: string, environment: Record<string, string>, event: Uint8Array) {
  const hung = await hungEndpoint();
  const api = await startLambdaApi({
    functions: [{ name: "Fn", bundleFile: bundles[role].file, timeoutSeconds: FUNCTION_TIMEOUT_S, environment: { ...TIMEOUTS, ...environment, [endpointVariable]: hung.endpoint } }],
  });
  try {
    const started = Date.now();
    const res = await fetch(`${api.endpoint}/2015-03-31/functions/Fn/invocations`, { method: "POST", body: event });
    const error = (await res.json()) as { errorType: string; errorMessage: string };
    return { error, functionError: res.headers.get("x-amz-function-error"), elapsedMs: Date.now() - started, connections: hung.connections() };
  } finally {
    await api.close();
    await hung.close();
  }
}

function assertTimedOut(r: Awaited<ReturnType<typeof againstHungEndpoint>>, expectedType: string, message: RegExp) {
  assert.equal(r.functionError, "Unhandled", JSON.stringify(r.error));
  assert.equal(r.error.errorType, expectedType, JSON.stringify(r.error));
  assert.match(r.error.errorMessage, message);
  // Not Lambda's "Task timed out": the SDK gave up on its own, long before the function would.
  assert.ok(r.elapsedMs < (FUNCTION_TIMEOUT_S * 1000) / 2, `took ${r.elapsedMs} ms`);
  assert.ok(r.connections >= 3, `the SDK retried the timed-out request (3 attempts by default); saw ${r.connections} connections`);
}

describe("a hung AWS endpoint becomes a timeout error the retry logic sees", () => {
  const sender = { [ENV.bucket]: "bucket", [ENV.consumerFunction]: "Consumer" };

  test("S3, on the sender's S3 route", async () => {
    const r = await againstHungEndpoint("sender", "AWS_ENDPOINT_URL_S3", { ...sender, [ENV.alwaysS3]: "true" }, Buffer.from('{"a":1}'));
    assertTimedOut(r, "TimeoutError", /timed out after 300 ?ms|300 ?ms/i);
  });

  test("Lambda, on the sender's inline route", async () => {
    const r = await againstHungEndpoint("sender", "AWS_ENDPOINT_URL_LAMBDA", sender, Buffer.from('{"a":1}'));
    assertTimedOut(r, "TimeoutError", /300 ?ms/i);
  });

  test("DynamoDB, in the consumer's idempotency check: a named error, and the payload is not processed", async () => {
    const bytes = Buffer.from('{"a":1}');
    const meta = { id: "hung-dynamodb", format: "json" as const, size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
    const consumer = { [ENV.bucket]: "bucket", [ENV.idempotencyTable]: "table" };
    const r = await againstHungEndpoint("consumer", "AWS_ENDPOINT_URL_DYNAMODB", consumer, inlineEnvelope(meta, bytes).body());
    assertTimedOut(r, "IdempotencyStoreError", /^Payload hung-dynamodb was not processed: .*TimeoutError/);
  });
});

describe("JSON nested deeper than JSON.stringify can write (about 4,400 levels here)", () => {
  const LIMIT = 65_536;
  let p: Pipeline;
  before(async () => {
    // Brackets compress to almost nothing; compression off keeps the deep one on the S3 route.
    p = await startPipeline({ bundles, settings: { inlineLimitBytes: LIMIT, compressInline: false }, eventLimitBytes: LIMIT });
  });
  after(async () => p?.close());

  for (const [depth, route] of [
    [20_000, "inline"],
    [200_000, "s3"],
  ] as const) {
    test(`${depth.toLocaleString("en")} levels arrive byte-identical on the ${route} route`, async () => {
      const text = "[".repeat(depth) + "]".repeat(depth);
      const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, text);
      assert.equal(functionError, undefined, JSON.stringify(body));
      const r = body as SenderResponse;
      assert.equal(r.route, route);
      assert.equal(r.sha256, sha256(text));
      const delivered = await p.delivery(r.id);
      assert.equal(delivered.sha256, sha256(text));
      assert.equal(delivered.size, text.length);
    });
  }
});
