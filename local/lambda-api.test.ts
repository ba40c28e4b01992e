import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { GetFunctionConfigurationCommand, InvokeCommand, type InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import { EVENT_PAYLOAD_LIMIT_BYTES, SYNC_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { bundleFixtures, type Fixture } from "./fixtures/bundle-fixtures.ts";
import { type LambdaApi, startLambdaApi } from "./lambda-api.ts";

let tmp: string;
let fixtures: Record<Fixture, string>;
let api: LambdaApi;
let lambda: LambdaClient;
const logs: Array<[string, string]> = [];
const developerEnv = {
  AWS_PROFILE: "developer-profile",
  AWS_ACCESS_KEY_ID: "AKIADEVELOPERSREALKEY",
  AWS_SECRET_ACCESS_KEY: "developers-real-secret",
  AWS_SESSION_TOKEN: "developers-session-token",
  DEVELOPER_ONLY_VARIABLE: "must not leak",
};
const savedEnv: Record<string, string | undefined> = {};

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "lambda-api-test-"));
  fixtures = await bundleFixtures(path.join(tmp, "bundles"));
  // The developer's own credentials are in the parent's environment; functions must not see them.
  for (const [name, value] of Object.entries(developerEnv)) {
    savedEnv[name] = process.env[name];
    process.env[name] = value;
  }
  api = await startLambdaApi({
    functions: [
      {
        name: "Echo",
        bundleFile: fixtures.echo,
        environment: { OWN_SETTING: "own value", AWS_REGION: "eu-west-3" },
      },
      { name: "NeedsEnv", bundleFile: fixtures["needs-env"] },
      { name: "Slow", bundleFile: fixtures.echo, timeoutSeconds: 0.3 },
      { name: "SmallTmp", bundleFile: fixtures.echo, timeoutSeconds: 2, ephemeralStorageMb: 2 },
      { name: "SlowInit", bundleFile: fixtures["slow-init"], timeoutSeconds: 0.3 },
      { name: "Flaky", bundleFile: fixtures.echo, asyncInvokeConfig: { retryDelaysMs: [40, 80] } },
      { name: "NoRetry", bundleFile: fixtures.echo, asyncInvokeConfig: { maxRetryAttempts: 0 } },
      { name: "Stale", bundleFile: fixtures.echo, asyncInvokeConfig: { maxEventAgeSeconds: 0.05, retryDelaysMs: [150] } },
    ],
    environment: { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" },
    failureDir: path.join(tmp, "failed"),
    onLog: (fn, line) => logs.push([fn, line]),
  });
  lambda = new LambdaClient({
    endpoint: api.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
});

after(async () => {
  lambda.destroy();
  await api.close();
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(tmp, { recursive: true, force: true });
});

function invoke(
  functionName: string,
  payload: string | Uint8Array | undefined,
  extra: Partial<ConstructorParameters<typeof InvokeCommand>[0]> = {},
): Promise<InvokeCommandOutput> {
  return lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      ...(payload !== undefined && { Payload: typeof payload === "string" ? Buffer.from(payload) : payload }),
      ...extra,
    }),
  );
}

function text(out: InvokeCommandOutput): string {
  return Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
}

async function rejection(promise: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  assert.fail("expected the call to fail");
}

/** A JSON body of exactly `bytes` UTF-8 bytes, filled with `unit` and padded with ASCII. */
function jsonOfBytes(bytes: number, unit = "x"): Buffer {
  const room = bytes - '{"p":""}'.length;
  const unitBytes = Buffer.byteLength(unit);
  const fill = unit.repeat(Math.floor(room / unitBytes)) + "x".repeat(room % unitBytes);
  const body = Buffer.from(`{"p":"${fill}"}`);
  assert.equal(body.length, bytes);
  return body;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function raw(
  method: string,
  urlPath: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  endpoint = api.endpoint,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}${urlPath}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("RequestResponse", () => {
  test("returns the function's result with 200 and $LATEST, bytes intact", async () => {
    const payload = '{"text":"héllo € 😀","escapes":"\\n\\t\\"","n":[1,2.5,null]}';
    const out = await invoke("Echo", payload);
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.equal(out.ExecutedVersion, "$LATEST");
    assert.deepEqual(JSON.parse(text(out)), JSON.parse(payload));
  });

  test("accepts a full ARN, an ARN with :$LATEST, a partial ARN and Qualifier=$LATEST", async () => {
    const arn = api.functionArn("Echo");
    assert.equal(arn, "arn:aws:lambda:us-east-1:000000000000:function:Echo");
    for (const name of [arn, `${arn}:$LATEST`, "000000000000:function:Echo"]) {
      assert.equal(text(await invoke(name, '{"via":"arn"}')), '{"via":"arn"}', name);
    }
    assert.equal(text(await invoke("Echo", "{}", { Qualifier: "$LATEST" })), "{}");
  });

  test("an empty body is the event {}, like the CLI without --payload", async () => {
    assert.equal(text(await invoke("Echo", undefined)), "{}");
  });

  test("a handler returning undefined answers null", async () => {
    assert.equal(text(await invoke("Echo", '{"action":"undefined"}')), "null");
  });

  test("gives the handler a Lambda-like context", async () => {
    const ctx = JSON.parse(text(await invoke("Echo", '{"action":"context"}'))) as Record<string, unknown>;
    assert.equal(ctx.functionName, "Echo");
    assert.equal(ctx.functionVersion, "$LATEST");
    assert.equal(ctx.invokedFunctionArn, api.functionArn("Echo"));
    assert.equal(ctx.memoryLimitInMB, "128");
    assert.equal(ctx.logGroupName, "/aws/lambda/Echo");
    assert.match(String(ctx.awsRequestId), /^[0-9a-f-]{36}$/);
    // The 60 s count down from the handler's call, as in Lambda; the bound only leaves room for a busy machine.
    assert.ok(Number(ctx.remainingMs) > 50_000 && Number(ctx.remainingMs) <= 60_000, `remaining time counts down from the 60 s timeout; got ${ctx.remainingMs} ms`);
  });

  test("GetFunctionConfiguration reports the function's configured variables, the local endpoints included, and no reserved ones", async () => {
    const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "Echo" }));
    assert.deepEqual(
      { name: out.FunctionName, arn: out.FunctionArn, handler: out.Handler, timeout: out.Timeout, memory: out.MemorySize },
      { name: "Echo", arn: api.functionArn("Echo"), handler: "echo.handler", timeout: 60, memory: 128 },
    );
    assert.deepEqual(out.Environment?.Variables, { AWS_ENDPOINT_URL_LAMBDA: api.endpoint, AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1", OWN_SETTING: "own value", AWS_REGION: "eu-west-3" });
    await assert.rejects(lambda.send(new GetFunctionConfigurationCommand({ FunctionName: "Nope" })), { name: "ResourceNotFoundException" });
  });

  test("functions run on the Node.js binary of the process that starts them", async () => {
    const ctx = JSON.parse(text(await invoke("Echo", '{"action":"context"}'))) as { node: string; execPath: string };
    assert.deepEqual([ctx.node, ctx.execPath], [process.version, process.execPath]);
  });

  test("the function sees only the runtime's environment, never the developer's credentials", async () => {
    const env = JSON.parse(text(await invoke("Echo", '{"action":"env"}'))) as Record<string, string>;
    for (const name of Object.keys(developerEnv)) {
      assert.notEqual(env[name], developerEnv[name as keyof typeof developerEnv], name);
    }
    assert.equal(env.AWS_PROFILE, undefined);
    assert.equal(env.AWS_SESSION_TOKEN, undefined);
    assert.equal(env.DEVELOPER_ONLY_VARIABLE, undefined);
    assert.equal(env.AWS_ACCESS_KEY_ID, "local");
    assert.equal(env.AWS_SECRET_ACCESS_KEY, "local");
    assert.notEqual(env.HOME, os.homedir());
    assert.equal(env.OWN_SETTING, "own value");
    // Reserved variables win over the function's configuration, as in Lambda.
    assert.equal(env.AWS_REGION, "us-east-1");
    assert.equal(env.AWS_DEFAULT_REGION, "us-east-1");
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, "Echo");
    assert.equal(env.AWS_EC2_METADATA_DISABLED, "true");
    assert.equal(env.AWS_ENDPOINT_URL_LAMBDA, api.endpoint);
    assert.equal(env.AWS_ENDPOINT_URL_S3, "http://127.0.0.1:1");
    const inherited = Object.keys(env).filter((k) => process.env[k] !== undefined && process.env[k] === env[k]);
    // Set by the runtime itself (lambda-api.ts), so they may equal the parent's by coincidence.
    const runtimeOwn = new Set(["PATH", "LANG", "TZ"]);
    assert.deepEqual(inherited.filter((k) => !runtimeOwn.has(k)), [], "variables copied from the parent");
  });

  test("a function error is 200 with X-Amz-Function-Error: Unhandled and Lambda's error object", async () => {
    const out = await invoke("Echo", '{"action":"throw","message":"bad input"}');
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, "Unhandled");
    const error = JSON.parse(text(out)) as { errorType: string; errorMessage: string; trace: string[] };
    assert.equal(error.errorType, "RangeError");
    assert.equal(error.errorMessage, "bad input");
    assert.match(error.trace[0] ?? "", /^RangeError: bad input/);
    // Source maps are on: the trace points into the fixture's TypeScript source.
    assert.ok(error.trace.some((l) => l.includes("echo.ts")), error.trace.join("\n"));
  });

  test("an init error is reported on every invocation with the missing variable's name", async () => {
    for (let i = 0; i < 2; i++) {
      const out = await invoke("NeedsEnv", "{}");
      assert.equal(out.FunctionError, "Unhandled");
      const error = JSON.parse(text(out)) as { errorType: string; errorMessage: string };
      assert.equal(error.errorMessage, "Missing required environment variable FIXTURE_REQUIRED_SETTING");
    }
  });

  test("LogType Tail returns this invocation's log lines", async () => {
    const out = await invoke("Echo", '{"action":"log","lines":["first line","second line"]}', { LogType: "Tail" });
    const tail = Buffer.from(out.LogResult ?? "", "base64").toString();
    assert.match(tail, /^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);
    assert.match(tail, /\nfirst line\nsecond line\n/);
    assert.match(tail, /\na line on stderr\n/);
    assert.match(tail, /\nREPORT RequestId: [^\n]*Duration: [\d.]+ ms[^\n]*\n$/);
    const lines = logs.filter(([fn]) => fn === "Echo").map(([, l]) => l);
    assert.ok(lines.includes("first line") && lines.includes("a line on stderr"), "lines also reach onLog");
  });

  test("a timeout kills the environment, reports Lambda's message, and the next call starts fresh", async () => {
    const before = JSON.parse(text(await invoke("Slow", '{"action":"context"}'))) as { pid: number };
    const started = performance.now();
    const sleepMs = 120_000;
    const out = await invoke("Slow", `{"action":"sleep","ms":${sleepMs}}`);
    const elapsed = performance.now() - started;
    // Only the 0.3 s timeout can end this invocation before the handler's sleep does.
    assert.ok(elapsed >= 300 && elapsed < sleepMs, `answered at the 0.3 s timeout, not when the ${sleepMs / 1000} s sleep ended (after ${Math.round(elapsed)} ms)`);
    assert.equal(out.FunctionError, "Unhandled");
    const error = JSON.parse(text(out)) as { errorType: string; errorMessage: string };
    assert.equal(error.errorType, "Sandbox.Timedout");
    assert.match(error.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Task timed out after 0\.30 seconds$/);
    const afterTimeout = JSON.parse(text(await invoke("Slow", '{"action":"context"}'))) as { pid: number };
    assert.notEqual(afterTimeout.pid, before.pid);
    assert.throws(() => process.kill(before.pid, 0), { code: "ESRCH" });
  });

  test("each function has a /tmp of its ephemeral storage size that outlives a timed-out process", async () => {
    const MiB = 1_048_576;
    const tmpOf = async (fn: string, extra: object = {}) =>
      JSON.parse(text(await invoke(fn, JSON.stringify({ action: "tmp", ...extra })))) as { tmpdir: string; sizeBytes: number; freeBytes: number };
    const fresh = await tmpOf("SmallTmp");
    assert.equal(fresh.tmpdir, api.tmpDir("SmallTmp"));
    assert.notEqual((await tmpOf("Echo")).tmpdir, fresh.tmpdir, "not shared with another function");
    assert.ok(fresh.sizeBytes <= 2 * MiB && fresh.sizeBytes > 2 * MiB - 8192, `size ${fresh.sizeBytes}`);
    assert.equal(fresh.freeBytes, fresh.sizeBytes);
    const written = await tmpOf("SmallTmp", { write: MiB, name: "left-behind" });
    assert.ok(Math.abs(written.freeBytes - (fresh.sizeBytes - MiB)) < 8192, `free ${written.freeBytes} after writing 1 MiB`);
    const timedOut = JSON.parse(text(await invoke("SmallTmp", '{"action":"sleep","ms":60000}'))) as { errorType: string };
    assert.equal(timedOut.errorType, "Sandbox.Timedout", "the process is killed");
    const afterTimeout = await tmpOf("SmallTmp");
    assert.equal(afterTimeout.freeBytes, written.freeBytes, "the killed process's file still takes its space");
  });

  test("the timeout starts when the handler is called: an init longer than the timeout does not time the invocation out", async () => {
    const out = await invoke("SlowInit", "{}", { LogType: "Tail" });
    assert.equal(out.FunctionError, undefined, text(out));
    assert.deepEqual(JSON.parse(text(out)), { initMs: 1000 });
    const report = /Init Duration: ([\d.]+) ms/.exec(Buffer.from(out.LogResult ?? "", "base64").toString());
    assert.ok(report && Number(report[1]) >= 1000, `the REPORT line shows the 1 s init: ${report?.[0]}`);
  });

  test("a crashed environment reports Runtime.ExitError and restarts on the next call", async () => {
    const out = await invoke("Echo", '{"action":"exit","code":3}', { LogType: "Tail" });
    assert.equal(out.FunctionError, "Unhandled");
    const error = JSON.parse(text(out)) as { errorType: string; errorMessage: string };
    assert.equal(error.errorType, "Runtime.ExitError");
    assert.match(error.errorMessage, /Runtime exited with error: exit status 3$/);
    assert.match(Buffer.from(out.LogResult ?? "", "base64").toString(), /exiting on purpose/);
    assert.equal(text(await invoke("Echo", '{"after":"crash"}')), '{"after":"crash"}');
  });

  test("a response over 6 MB is a function error, as in Lambda", async () => {
    const out = await invoke("Echo", JSON.stringify({ action: "big-response", bytes: 6_291_600 }));
    assert.equal(out.FunctionError, "Unhandled");
    assert.equal((JSON.parse(text(out)) as { errorType: string }).errorType, "Function.ResponseSizeTooLarge");
  });
});

describe("errors the SDK understands", () => {
  test("unknown function: 404 ResourceNotFoundException naming the ARN", async () => {
    const err = await rejection(invoke("NoSuchFunction", "{}"));
    assert.equal(err.name, "ResourceNotFoundException");
    assert.equal(err.$metadata.httpStatusCode, 404);
    assert.equal(err.message, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:NoSuchFunction");
    assert.match(err.$metadata.requestId ?? "", /^[0-9a-f-]{36}$/);
  });

  test("a qualifier other than $LATEST, or another region's ARN, is not found", async () => {
    const qualified = await rejection(invoke("Echo", "{}", { Qualifier: "prod" }));
    assert.equal(qualified.name, "ResourceNotFoundException");
    assert.equal(qualified.message, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:Echo:prod");
    const elsewhere = await rejection(invoke("arn:aws:lambda:eu-west-1:000000000000:function:Echo", "{}"));
    assert.equal(elsewhere.$metadata.httpStatusCode, 404);
  });

  test("a body that is not JSON: 400 InvalidRequestContentException", async () => {
    for (const body of ["not json", '{"a":', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])]) {
      const err = await rejection(invoke("Echo", body));
      assert.equal(err.name, "InvalidRequestContentException");
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.match(err.message, /^Could not parse request body into json: /);
    }
  });

  test("Event over the limit: 413 RequestEntityTooLargeException with AWS's message", async () => {
    const body = jsonOfBytes(EVENT_PAYLOAD_LIMIT_BYTES + 1);
    const err = await rejection(invoke("Echo", body, { InvocationType: "Event" }));
    assert.equal(err.name, "RequestEntityTooLargeException");
    assert.equal(err.$metadata.httpStatusCode, 413);
    assert.equal(err.message, "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)");
  });

  test("the raw error response has AWS's headers and body", async () => {
    const res = await raw("POST", "/2015-03-31/functions/Echo/invocations", jsonOfBytes(EVENT_PAYLOAD_LIMIT_BYTES + 10), {
      "X-Amz-Invocation-Type": "Event",
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers["x-amzn-errortype"], "RequestEntityTooLargeException");
    assert.deepEqual(JSON.parse(res.body), {
      Type: "User",
      message: "1048586 byte payload is too large for the Event invocation type (limit 1048576 bytes)",
    });
  });
});

describe("payload limits count request body bytes", () => {
  test("Event: exactly the limit is accepted, one byte more is refused, in 1- to 4-byte characters", async () => {
    for (const unit of ["x", "é", "€", "😀"]) {
      const before = api.stats("Echo").eventBodyBytes.length;
      const fits = await invoke("Echo", jsonOfBytes(EVENT_PAYLOAD_LIMIT_BYTES, unit), { InvocationType: "Event" });
      assert.equal(fits.StatusCode, 202, unit);
      assert.equal(text(fits), "");
      assert.deepEqual(api.stats("Echo").eventBodyBytes.slice(before), [EVENT_PAYLOAD_LIMIT_BYTES]);
      const over = await rejection(invoke("Echo", jsonOfBytes(EVENT_PAYLOAD_LIMIT_BYTES + 1, unit), { InvocationType: "Event" }));
      assert.equal(over.name, "RequestEntityTooLargeException", unit);
    }
    await api.idle();
  });

  test("a body of few characters but many bytes is measured in bytes", async () => {
    const chars = 300_000;
    const body = Buffer.from(JSON.stringify({ p: "😀".repeat(chars) }));
    assert.ok(JSON.stringify({ p: "😀".repeat(chars) }).length < EVENT_PAYLOAD_LIMIT_BYTES);
    const err = await rejection(invoke("Echo", body, { InvocationType: "Event" }));
    assert.equal(err.message, `${body.length} byte payload is too large for the Event invocation type (limit 1048576 bytes)`);
  });

  test("RequestResponse: 6,291,456 bytes are accepted, 6,291,457 refused", async () => {
    const fits = await invoke("Echo", jsonOfBytes(SYNC_PAYLOAD_LIMIT_BYTES, "€"));
    assert.equal(fits.StatusCode, 200);
    assert.equal(fits.FunctionError, undefined);
    assert.equal(fits.Payload?.length, SYNC_PAYLOAD_LIMIT_BYTES);
    const err = await rejection(invoke("Echo", jsonOfBytes(SYNC_PAYLOAD_LIMIT_BYTES + 1)));
    assert.equal(err.name, "RequestEntityTooLargeException");
    assert.equal(err.message, "6291457 byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)");
  });

  test("the Event limit is configurable apart from the sync one", async () => {
    const strict = await startLambdaApi({ functions: [{ name: "Echo", bundleFile: fixtures.echo }], eventLimitBytes: 100 });
    const client = new LambdaClient({ endpoint: strict.endpoint, region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" }, maxAttempts: 1 });
    try {
      const fits = await client.send(new InvokeCommand({ FunctionName: "Echo", InvocationType: "Event", Payload: jsonOfBytes(100, "é") }));
      assert.equal(fits.StatusCode, 202);
      const err = await rejection(client.send(new InvokeCommand({ FunctionName: "Echo", InvocationType: "Event", Payload: jsonOfBytes(101) })));
      assert.equal(err.message, "101 byte payload is too large for the Event invocation type (limit 100 bytes)");
      const sync = await client.send(new InvokeCommand({ FunctionName: "Echo", Payload: jsonOfBytes(101) }));
      assert.equal(sync.StatusCode, 200);
      assert.deepEqual(strict.stats("Echo"), {
        eventsAccepted: 1,
        eventBodyBytes: [100],
        internalEvents: 0,
        rejectedTooLarge: 1,
        syncInvocations: 1,
        runs: 2,
        failedEvents: 0,
      });
    } finally {
      client.destroy();
      await strict.close();
    }
  });
});

describe("Event and DryRun", () => {
  test("Event answers 202 at once and runs the function from the queue; idle() waits for it", async () => {
    const out = await invoke("Echo", '{"action":"sleep","ms":300,"tag":"queued"}', { InvocationType: "Event" });
    assert.equal(out.StatusCode, 202);
    const requestId = out.$metadata.requestId;
    assert.match(requestId ?? "", /^[0-9a-f-]{36}$/, "the invocation's request id is x-amzn-RequestId");
    const finished = () => logs.some(([fn, l]) => fn === "Echo" && l === `END RequestId: ${requestId}`);
    assert.ok(!finished(), "202 came before the function finished");
    await api.idle();
    assert.ok(finished(), "idle() waited for the function");
    assert.ok(logs.some(([fn, l]) => fn === "Echo" && l.includes(`"requestId":"${requestId}"`) && l.includes('"tag":"queued"')));
  });

  test("DryRun answers 204 and runs nothing", async () => {
    const runs = api.stats("Echo").runs;
    const out = await invoke("Echo", "{}", { InvocationType: "DryRun" });
    assert.equal(out.StatusCode, 204);
    assert.equal(api.stats("Echo").runs, runs);
  });

  test("invokeAsync queues like an Event and refuses unknown functions and non-JSON", async () => {
    const internal = api.stats("Echo").internalEvents;
    const requestId = api.invokeAsync("Echo", Buffer.from('{"via":"invokeAsync"}'));
    await api.idle();
    assert.equal(api.stats("Echo").internalEvents, internal + 1);
    assert.ok(logs.some(([, l]) => l.includes(requestId) && l.includes('"via":"invokeAsync"')));
    assert.throws(() => api.invokeAsync("Missing", Buffer.from("{}")), /Function not found/);
    assert.throws(() => api.invokeAsync("Echo", Buffer.from("{")), /Could not parse request body into json/);
  });
});

describe("asynchronous retries and the failure destination", () => {
  test("a failing event is tried 1 + 2 times, then its record lands in the failure directory", async () => {
    const runs = api.stats("Flaky").runs;
    const failures = api.failures.length;
    const started = performance.now();
    await invoke("Flaky", '{"action":"throw","message":"always fails"}', { InvocationType: "Event" });
    await api.idle();
    assert.ok(performance.now() - started >= 120, "waited 40 + 80 ms between attempts");
    assert.equal(api.stats("Flaky").runs - runs, 3);
    assert.equal(api.stats("Flaky").failedEvents, 1);
    const failed = api.failures.slice(failures);
    assert.equal(failed.length, 1);
    const [entry] = failed;
    assert.ok(entry?.file);
    assert.equal(path.dirname(entry.file), path.join(tmp, "failed"));
    const record = JSON.parse(await readFile(entry.file, "utf8")) as typeof entry.record;
    assert.deepEqual(record, entry.record);
    assert.equal(record.version, "1.0");
    assert.ok(!Number.isNaN(Date.parse(record.timestamp)));
    assert.deepEqual(
      { ...record.requestContext, requestId: "" },
      { requestId: "", functionArn: `${api.functionArn("Flaky")}:$LATEST`, condition: "RetriesExhausted", approximateInvokeCount: 3 },
    );
    assert.deepEqual(record.requestPayload, { action: "throw", message: "always fails" });
    assert.deepEqual(record.responseContext, { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" });
    assert.equal(record.responsePayload?.errorType, "RangeError");
    assert.equal(record.responsePayload?.errorMessage, "always fails");
    assert.ok(logs.some(([fn, l]) => fn === "Flaky" && l.includes(entry.file!)), "one log line says where the record is");
  });

  test("an event that succeeds on a retry leaves no failure record", async () => {
    const failures = api.failures.length;
    const runs = api.stats("Flaky").runs;
    await invoke("Flaky", '{"action":"fail-times","key":"once","times":1}', { InvocationType: "Event" });
    await api.idle();
    assert.equal(api.stats("Flaky").runs - runs, 2);
    assert.equal(api.failures.length, failures);
  });

  test("maxRetryAttempts 0 runs once", async () => {
    await invoke("NoRetry", '{"action":"throw","message":"once"}', { InvocationType: "Event" });
    await api.idle();
    assert.equal(api.stats("NoRetry").runs, 1);
    assert.equal(api.failures.at(-1)?.record.requestContext.approximateInvokeCount, 1);
  });

  test("an event older than maxEventAgeSeconds is not retried: EventAgeExceeded", async () => {
    await invoke("Stale", '{"action":"throw","message":"slow retry"}', { InvocationType: "Event" });
    await api.idle();
    assert.equal(api.stats("Stale").runs, 1);
    const record = api.failures.at(-1)?.record;
    assert.equal(record?.requestContext.condition, "EventAgeExceeded");
    assert.equal(record?.requestContext.approximateInvokeCount, 1);
    assert.equal(record?.responsePayload?.errorMessage, "slow retry");
  });
});

describe("bad requests", () => {
  test("unknown routes and methods get JSON errors", async () => {
    for (const [method, urlPath] of [
      ["GET", "/"],
      ["GET", "/2015-03-31/functions/Echo/invocations"],
      ["POST", "/2015-03-31/functions/Echo"],
      ["POST", "//2015-03-31/functions/Echo/invocations"],
    ] as const) {
      const res = await raw(method, urlPath);
      assert.equal(res.status, 404, `${method} ${urlPath}`);
      assert.equal(res.headers["x-amzn-errortype"], "UnknownOperationException");
      assert.equal((JSON.parse(res.body) as { Type: string }).Type, "User");
    }
  });

  test("malformed names and invocation types get 400", async () => {
    const badEncoding = await raw("POST", "/2015-03-31/functions/%E0%A4%A/invocations", "{}");
    assert.equal(badEncoding.status, 400);
    const badName = await raw("POST", "/2015-03-31/functions/no%20spaces/invocations", "{}");
    assert.equal(badName.status, 400);
    assert.equal(badName.headers["x-amzn-errortype"], "ValidationException");
    const badType = await raw("POST", "/2015-03-31/functions/Echo/invocations", "{}", { "X-Amz-Invocation-Type": "Later" });
    assert.equal(badType.status, 400);
    assert.match(JSON.parse(badType.body).message, /invocationType/);
  });

  test("aborted uploads and garbage on the socket do not hurt the server", async () => {
    const port = Number(new URL(api.endpoint).port);
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("POST /2015-03-31/functions/Echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"a\":");
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.destroy();
    const garbage = net.connect(port, "127.0.0.1");
    let answer = "";
    garbage.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    garbage.end("NOT HTTP AT ALL\r\n\r\n");
    await new Promise((resolve) => garbage.on("close", resolve));
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await api.idle();
    assert.equal(text(await invoke("Echo", '{"still":"alive"}')), '{"still":"alive"}');
  });
});

test("close() kills every environment and frees the port", async () => {
  const own = await startLambdaApi({ functions: [{ name: "Echo", bundleFile: fixtures.echo }] });
  const client = new LambdaClient({ endpoint: own.endpoint, region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" }, maxAttempts: 1 });
  const out = await client.send(new InvokeCommand({ FunctionName: "Echo", Payload: Buffer.from('{"action":"context"}') }));
  const { pid } = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString()) as { pid: number };
  process.kill(pid, 0);
  await client.send(new InvokeCommand({ FunctionName: "Echo", InvocationType: "Event", Payload: Buffer.from('{"action":"sleep","ms":10000}') }));
  client.destroy();
  await Promise.all([own.close(), own.close()]);
  await own.idle();
  assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  await assert.rejects(raw("GET", "/", undefined, {}, own.endpoint), { code: "ECONNREFUSED" });
});
