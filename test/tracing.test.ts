/**
 * docs/construct.md, "Tracing": on the inline route the trace continues from the sender to the
 * consumer because the sender's Invoke carries the invocation's trace id as `X-Amzn-Trace-Id`
 * (the AWS SDK's recursion-detection middleware reads `_X_AMZN_TRACE_ID`, which Lambda sets in
 * a traced function). The sender bundle runs here as Lambda runs it, against a loopback server
 * that records what it receives. That Lambda then hands the header to the consumer, and that S3
 * notifications carry none, is AWS's side and can only be seen in AWS.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { bundleFunction, FUNCTIONS, PROJECT_ROOT, type Bundle } from "../bundling/bundle.ts";

const TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1";
const received: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  req.resume().on("end", () => {
    received.push(req.headers);
    res.writeHead(202).end();
  });
});
const dir = mkdtempSync(path.join(os.tmpdir(), "tracing-test-"));
let sender: Bundle;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sender = await bundleFunction({ entry: FUNCTIONS.sender.entry, outDir: dir, workingDir: PROJECT_ROOT });
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function sendInline(traceId: string | undefined): Promise<IncomingHttpHeaders> {
  received.length = 0;
  const env = {
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_REGION: "us-east-1",
    AWS_LAMBDA_FUNCTION_NAME: "SendPayloadFunction",
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    PAYLOAD_BUCKET: "bucket",
    CONSUMER_FUNCTION_NAME: "AsynchronousFunction",
    ...(traceId !== undefined && { _X_AMZN_TRACE_ID: traceId }),
  };
  const script = `const { handler } = await import(${JSON.stringify(sender.file)}); const r = await handler({ key: "value" }); if (r.route !== "inline") throw new Error(r.route);`;
  await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env, timeout: 60_000 });
  assert.equal(received.length, 1, "one Invoke request");
  return received[0]!;
}

test("a traced sender's inline Invoke carries its trace id, so the consumer joins the same trace", async () => {
  assert.equal((await sendInline(TRACE))["x-amzn-trace-id"], TRACE);
});

test("without a trace id in the environment, no trace header is sent", async () => {
  assert.equal((await sendInline(undefined))["x-amzn-trace-id"], undefined);
});
