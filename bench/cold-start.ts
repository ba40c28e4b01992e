/**
 * `npm run bench:cold-start`: what loading the S3 client lazily saves at cold start. Times a fresh
 * `node` importing the deployable sender bundle (S3 client loaded on the S3 route only) against
 * the same bundle with the S3 client imported eagerly, relative to a bare `node -e 0`.
 * The consumer is timed as deployed, and with Powertools idempotency and the DynamoDB client
 * imported too: the load its first invocation adds, since lib/idempotency.ts defers it.
 * Medians of interleaved runs; each run is a new process, as a cold start is.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleEntry, bundleHandlers } from "../bundling/bundle";

const runs = Number(process.argv[2] ?? 25);
const dir = mkdtempSync(path.join(os.tmpdir(), "cold-start-"));
try {
  const { sender, consumer } = await bundleHandlers({ outDir: path.join(dir, "lazy") });
  const eagerDir = path.join(dir, "eager");
  await bundleEntry("bench/sender-eager-s3.ts", eagerDir, "node22");
  const eagerFile = path.join(eagerDir, "index.mjs");
  const idempotencyDir = path.join(dir, "consumer-idempotency");
  await bundleEntry("bench/consumer-eager-idempotency.ts", idempotencyDir, "node22");

  const env = { PATH: process.env.PATH ?? "", PAYLOAD_BUCKET: "b", CONSUMER_FUNCTION_NAME: "c", IDEMPOTENCY_TABLE: "t", AWS_REGION: "us-east-1", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  const importOf = (file: string) => ["--input-type=module", "-e", `await import(${JSON.stringify(file)})`];
  const cases: Record<string, string[]> = {
    "node -e 0": ["-e", "0"],
    "sender, S3 client lazy": importOf(sender.file),
    "sender, S3 client eager": importOf(eagerFile),
    "consumer, S3 client lazy": importOf(consumer.file),
    "consumer + idempotency": importOf(path.join(idempotencyDir, "index.mjs")),
  };
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { env });
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr.toString()}`);
      (samples[name] ??= []).push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples["node -e 0"]!);
  console.log(`node ${process.version}, ${os.cpus().length} cores, ${runs} runs each`);
  for (const [name, xs] of Object.entries(samples)) {
    console.log(`${name.padEnd(26)} median ${median(xs).toFixed(1).padStart(6)} ms  ${(median(xs) / base).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
