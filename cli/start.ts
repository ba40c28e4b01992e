/**
 * `npm start`: the whole system on this machine, no AWS account, Docker or Python. Bundles the
 * handlers and synthesizes the stack once, starts the local S3 and Lambda API on ephemeral ports
 * with those bundles, replays the original sample's tests plus the two boundary cases, and exits
 * non-zero unless every payload reached the consumer byte-identical.
 */
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { SYNC_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { startLocalCloud, type LocalCloud } from "../local/cloud.ts";
import { waitForDelivery } from "../local/deliveries.ts";
import { incompressibleJsonPayloadWithInlineSize, sha256 } from "../local/payloads.ts";
import { ConfigError } from "../stacks/config.ts";
import { localCloudOptions } from "./cloud-from-config.ts";
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./command-line.ts";
import { invokeSender, localLambdaClient, type SenderResponse } from "./sender-client.ts";
import { largeSample, SMALL_SAMPLE } from "./samples.ts";

const USAGE = "usage: npm start";
const HELP = `${USAGE}

The whole system on this machine: bundles the handlers, synthesizes the stack, starts local S3 and
the local Lambda Invoke API on free ports of 127.0.0.1, sends the original sample's payloads plus
one whose inline event is exactly the limit and one a byte over, and prints a table of what
happened. Settings come from cdktf.json and STACK_* variables, e.g.
STACK_INLINE_LIMIT_BYTES=4096 npm start (README, "Configuration").

Exit status: 0 when every payload reached the consumer byte-identical; 1 otherwise or on a bad
setting; 2 on bad usage.`;

interface DemoPayload {
  name: string;
  event: unknown;
}

interface Row {
  name: string;
  bytes: number;
  response?: SenderResponse;
  match?: boolean;
  deliveryMs?: number;
  totalMs?: number;
  error?: string;
}

const fmt = new Intl.NumberFormat("en-US");
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  process.stdout.write(`▸ ${label} … `);
  const started = performance.now();
  const result = await work();
  process.stdout.write(`done in ${seconds(performance.now() - started)}\n`);
  return result;
}

function demoPayloads(limit: number): DemoPayload[] {
  // Above the limit, but small enough for the sender's own synchronous invoke (6 MiB).
  const largeBytes = Math.min(limit + Math.max(Math.floor(limit / 2), 4096), SYNC_PAYLOAD_LIMIT_BYTES - 100_000);
  const payloads: DemoPayload[] = [
    { name: "small sample {\"key\":\"value\"}", event: SMALL_SAMPLE },
    { name: `large sample (> ${fmt.format(limit)} B)`, event: largeSample(largeBytes) },
  ];
  try {
    // Random text, so compression cannot pull the one over the limit back inline.
    payloads.push({ name: "inline event = limit", event: incompressibleJsonPayloadWithInlineSize(limit).event });
    payloads.push({ name: "inline event = limit + 1", event: incompressibleJsonPayloadWithInlineSize(limit + 1).event });
  } catch {
    console.log(`  (limit ${limit} is smaller than the inline envelope; skipping the boundary payloads)`);
  }
  return payloads;
}

async function send(cloud: LocalCloud, client: LambdaClient, payload: DemoPayload): Promise<Row> {
  const text = JSON.stringify(payload.event);
  const bytes = Buffer.from(text, "utf8");
  const row: Row = { name: payload.name, bytes: bytes.length };
  const started = performance.now();
  try {
    row.response = await invokeSender(client, cloud.settings.senderName, bytes);
    const delivered = await waitForDelivery(cloud, row.response.id);
    row.totalMs = Math.round(performance.now() - started);
    row.deliveryMs = delivered.latencyMs;
    row.match = delivered.sha256 === sha256(bytes) && row.response.sha256 === delivered.sha256;
  } catch (err) {
    row.error = (err as Error).message;
  }
  return row;
}

function printTable(rows: Row[]): void {
  const header = ["payload", "route", "payload bytes", "inline event", "sha256 match", "sender", "delivery", "total"];
  const body = rows.map((r) => [
    r.name,
    r.response ? (r.response.route === "s3" ? `s3 (${r.response.reason})` : r.response.encoding ? `inline (${r.response.encoding})` : "inline") : "FAILED",
    fmt.format(r.bytes),
    r.response?.inlineSize !== undefined ? fmt.format(r.response.inlineSize) : "",
    r.match === undefined ? "-" : r.match ? "yes" : "NO",
    r.response ? `${r.response.elapsedMs} ms` : "",
    r.deliveryMs !== undefined ? `${r.deliveryMs} ms` : "",
    r.totalMs !== undefined ? `${r.totalMs} ms` : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")}`;
  console.log(line(header));
  console.log(line(widths.map((w) => "─".repeat(w))));
  for (const cells of body) console.log(line(cells));
  console.log("  inline (br): sent brotli-compressed, because only that fits; inline event: the request body sent, or the one that did not fit");
  console.log("  sender: time inside SendPayloadFunction · delivery: sender accepted → consumer received · total: as seen by this client");
}

async function main(argv: string[]): Promise<number> {
  try {
    if (parseCommandLine(argv, USAGE, {}) === "help") {
      console.log(HELP);
      return 0;
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message);
    return USAGE_EXIT_CODE;
  }
  console.log("lambda-s3-async-lambda: local demo (real S3 protocol via s3rver, real Lambda Invoke API, deployable bundles)\n");
  let synth;
  try {
    // Imported here, not up front: cdktf and the provider take a second to load, and --help
    // should not wait for them.
    synth = await step("Bundling handlers and synthesizing the stack", async () => (await import("../stacks/app.ts")).synthesizeApp());
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`\n${err.message}`);
      return 1;
    }
    throw err;
  }
  console.log(`  ${path.relative(PROJECT_ROOT, synth.stackFile)}`);
  const cloud = await step("Starting local S3 and the Lambda Invoke API", () =>
    startLocalCloud({ ...localCloudOptions(synth.config), bundles: synth.bundles }),
  );
  const client = localLambdaClient(cloud.lambdaEndpoint, cloud.region);
  try {
    const limit = cloud.settings.inlineLimitBytes;
    console.log(`  Lambda API ${cloud.lambdaEndpoint} · S3 ${cloud.s3Endpoint} · bucket ${cloud.settings.bucket} · inline limit ${fmt.format(limit)} bytes${cloud.settings.alwaysS3 ? " · always S3" : ""}`);
    // The local functions run on this process's Node binary (local/function-process.ts).
    console.log(`  Functions run on Node.js ${process.version} here, ${synth.config.runtime} when deployed`);
    const payloads = demoPayloads(limit);
    const rows: Row[] = [];
    for (const [i, payload] of payloads.entries()) {
      process.stdout.write(`▸ [${i + 1}/${payloads.length}] ${payload.name} … `);
      const row = await send(cloud, client, payload);
      rows.push(row);
      const route = row.response?.encoding ? `${row.response.route} (${row.response.encoding})` : row.response?.route;
      console.log(row.error ? `FAILED: ${row.error}` : `${route}, ${row.match ? "delivered byte-identical" : "DELIVERED DIFFERENT BYTES"}`);
    }
    console.log("");
    printTable(rows);
    await cloud.idle();
    const failed = rows.filter((r) => !r.match);
    if (failed.length === 0) {
      console.log(`\nAll ${rows.length} payloads reached ${cloud.settings.consumerName} byte-identical. Next: \`npm run local\` and the AWS CLI (see README).`);
      return 0;
    }
    console.log(`\n${failed.length} of ${rows.length} payloads were not delivered byte-identical. Last function log lines:`);
    for (const l of cloud.logs.slice(-20)) console.log(`  [${l.functionName}] ${l.line}`);
    return 1;
  } finally {
    client.destroy();
    await cloud.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
