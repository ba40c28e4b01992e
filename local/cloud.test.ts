import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { ENV } from "../lib/contract.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { type LocalCloud, LOCAL_BUCKET, startLocalCloud } from "./cloud.ts";
import { bundleFixtures } from "./fixtures/bundle-fixtures.ts";

let tmp: string;
let cloud: LocalCloud;
let lambda: LambdaClient;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "local-cloud-test-"));
  const fixtures = await bundleFixtures(path.join(tmp, "bundles"));
  // Fixtures stand in for the real handlers: the sender writes to S3, the consumer logs its events.
  const bundle = (role: FunctionRole, file: string): Bundle => ({ dir: path.dirname(file), file, contentHash: role });
  cloud = await startLocalCloud({
    settings: { senderName: "LocalSender", consumerName: "LocalConsumer", prefix: "incoming/" },
    bundles: { sender: bundle("sender", fixtures["s3-writer"]), consumer: bundle("consumer", fixtures.echo) },
    eventLimitBytes: 2048,
    failureDir: path.join(tmp, "failed"),
    consumerEphemeralStorageMb: 3,
  });
  lambda = new LambdaClient({
    endpoint: cloud.lambdaEndpoint,
    region: cloud.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
});

after(async () => {
  lambda.destroy();
  await cloud.close();
  await rm(tmp, { recursive: true, force: true });
});

async function invoke(functionName: string, event: unknown): Promise<unknown> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }));
  const body = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString()) as unknown;
  assert.equal(out.FunctionError, undefined, JSON.stringify(body));
  return body;
}

test("settings fill in from the contract and the local bucket", () => {
  assert.equal(cloud.settings.bucket, LOCAL_BUCKET);
  assert.equal(cloud.settings.senderName, "LocalSender");
  assert.equal(cloud.settings.prefix, "incoming/");
  assert.equal(cloud.region, "us-east-1");
  assert.match(cloud.lambdaEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(cloud.s3Endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test("the consumer's /tmp has the configured ephemeral size", async () => {
  const { sizeBytes } = (await invoke("LocalConsumer", { action: "tmp" })) as { sizeBytes: number };
  assert.ok(sizeBytes <= 3 * 1_048_576 && sizeBytes > 3 * 1_048_576 - 65_536, `${sizeBytes} bytes`);
});

test("functions get the contract's variables and loopback endpoints", async () => {
  const env = (await invoke("LocalConsumer", { action: "env" })) as Record<string, string>;
  assert.equal(env[ENV.bucket], LOCAL_BUCKET);
  assert.equal(env[ENV.prefix], "incoming/");
  assert.equal(env[ENV.deleteAfterProcessing], "true");
  assert.equal(env.AWS_ENDPOINT_URL_S3, cloud.s3Endpoint);
  assert.equal(env.AWS_ENDPOINT_URL_LAMBDA, cloud.lambdaEndpoint);
  assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, "LocalConsumer");
});

test("a function's default S3Client reaches local S3 through the environment alone", async () => {
  const result = await invoke("LocalSender", { action: "roundtrip", key: "scratch/round trip ü.txt", body: "bytes € 😀" });
  assert.deepEqual(result, {
    buffered: { body: "bytes € 😀", metadata: { "payload-id": "fixture" } },
    streamed: "bytes € 😀",
    listed: ["scratch/round trip ü.txt"],
    missing: "NoSuchKey",
  });
});

test("an object written under the prefix invokes the consumer with an S3 event; one elsewhere does not", async () => {
  const key = "incoming/with space+plus/ü €.json";
  await invoke("LocalSender", { action: "put", key, body: '{"n":1}' });
  const line = await cloud.waitForLog("LocalConsumer", (l) => l.includes(`"key":"${encodeS3EventKey(key)}"`));
  const logged = JSON.parse(line) as { event: { Records: Array<{ s3: { bucket: { name: string }; object: { key: string } } }> } };
  assert.equal(logged.event.Records[0]?.s3.bucket.name, LOCAL_BUCKET);
  assert.equal(logged.event.Records[0]?.s3.object.key, "incoming/with+space%2Bplus/%C3%BC+%E2%82%AC.json");

  const notified = cloud.lambda.stats("LocalConsumer").internalEvents;
  await invoke("LocalSender", { action: "put", key: "elsewhere/not-for-the-consumer.json", body: "{}" });
  await cloud.idle();
  assert.equal(cloud.lambda.stats("LocalConsumer").internalEvents, notified);
  assert.ok(!cloud.logs.some((l) => l.line.includes("not-for-the-consumer")), "no event outside the prefix");
});

test("the Lambda API's own Event limit applies", async () => {
  const err = await lambda
    .send(new InvokeCommand({ FunctionName: "LocalConsumer", InvocationType: "Event", Payload: Buffer.from(`"${"x".repeat(2047)}"`) }))
    .then(
      () => assert.fail("accepted"),
      (e: Error) => e,
    );
  assert.equal(err.message, "2049 byte payload is too large for the Event invocation type (limit 2048 bytes)");
});

test("waitForLog waits while an event is queued, and fails once the cloud is idle without a match, naming the function", async () => {
  const marker = `queued-${Date.now()}`;
  cloud.lambda.invokeAsync("LocalConsumer", Buffer.from(JSON.stringify({ marker })));
  // Issued while the event waits in the queue: resolves with its line, not with "idle".
  assert.match(await cloud.waitForLog("LocalConsumer", (l) => l.includes(marker)), new RegExp(marker));
  await assert.rejects(cloud.waitForLog("LocalConsumer", () => false), /^Error: No log line of LocalConsumer matched, and the local cloud is idle .*Last lines:\n {2}LocalConsumer: /s);
});

/** A GET on a kept-alive connection of `agent`: the status, and whether it reused a connection. */
function get(agent: http.Agent, endpoint: string): Promise<{ status: number | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${endpoint}/`, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
    });
    req.on("error", reject);
  });
}

test("the local servers keep idle connections open, so no request is ever sent into one the server is closing (see keep-alive.ts)", async () => {
  const endpoints = { lambda: cloud.lambdaEndpoint, s3: cloud.s3Endpoint, dynamodb: cloud.dynamodb.endpoint };
  const agents = Object.fromEntries(Object.keys(endpoints).map((name) => [name, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  try {
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const first = await get(agents[name]!, endpoint);
      assert.ok(first.status !== undefined && !first.reused, `${name} answers`);
    }
    // Longer than Node's default keepAliveTimeout (5 s), which closes idle connections, and its
    // Keep-Alive hint, which makes clients drop them at 4 s.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const second = await get(agents[name]!, endpoint);
      assert.ok(second.reused, `${name}: the second request went over the connection that had been idle for 6 s`);
    }
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
  }
});
