/**
 * `npm test`: every `*.test.ts`, on this 2-core machine.
 *
 * - The three real-terraform files each run in a lane of their own from the start, beside
 *   everything else: most of their minutes are the AWS provider waiting on the emulator (an
 *   apply waits about a minute on each S3 lifecycle rule), not CPU.
 * - Two workers take the other files from one queue, so the work balances itself. On a machine
 *   that is idle when the run starts, they run at a lower CPU priority (test/lower-priority.ts):
 *   the terraform lanes' chains of dependent commands then finish early instead of being the
 *   tail, and the queue fills the time they wait on the emulator. On a busy machine they keep
 *   normal priority, so other work cannot starve them. The queue starts with the end-to-end
 *   files (test/, then cli/), which take longest, so the last files to run are short ones.
 * - Files that use the project's own .bundles/ or cdktf.out/ (cli/ and local/ bundle and start servers
 *   from the project; stacks/project-config.test.ts creates cdktf.out) never run at the same time
 *   as each other.
 *
 * node's own `--test-concurrency` cannot express this (it sorts the files and fills any free
 * slot). The runner starts with the Node.js it runs on (the test processes and the local functions
 * they start use the same binary), ends with one line, "N passed, N failed, N skipped", and exits
 * 1 on any failure.
 *
 * `--unit` (`npm run test:unit`): the fast inner loop, only files that need no terraform, no
 * emulator and no local cloud (see UNIT).
 */
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { findProviderMirror, PLUGIN_DIR_ENV } from "../local/terraform.ts";

const ROOTS = ["lib", "handlers", "bundling", "stacks", "local", "cli", "test"];
const REAL_TERRAFORM = ["stacks/terraform.test.ts", "test/terraform-module.test.ts", "cli/plan-local.test.ts"];

function testFiles(): string[] {
  return ROOTS.flatMap((root) =>
    readdirSync(path.join(PROJECT_ROOT, root), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".test.ts"))
      .map((e) => path.relative(PROJECT_ROOT, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join("/")),
  ).sort();
}

interface TestEvent {
  readonly name: string;
  readonly skip?: boolean | string;
  readonly todo?: boolean | string;
  readonly details?: { readonly type?: string };
}

const counts = { passed: 0, failed: 0, skipped: 0 };

const started = Date.now();

function runFile(file: string, options: { lowPriority?: boolean } = {}): Promise<void> {
  const execArgv = options.lowPriority ? [...process.execArgv, "--import", LOWER_PRIORITY] : process.execArgv;
  const stream = run({ files: [path.join(PROJECT_ROOT, file)], concurrency: 1, execArgv });
  stream.on("test:pass", (e: TestEvent) => {
    const skipped = e.skip !== undefined && e.skip !== false;
    // A skipped suite ran none of its tests: it counts once, as skipped.
    if (skipped) counts.skipped++;
    else if (e.details?.type !== "suite") counts.passed++;
  });
  stream.on("test:fail", (e: TestEvent) => {
    if (e.details?.type !== "suite") counts.failed++;
  });
  return new Promise((resolve, reject) => {
    const output = stream.compose(new spec());
    output.on("data", (chunk: string | Buffer) => process.stdout.write(chunk));
    output.on("end", () => {
      console.log(`# ${file}: done at ${Math.round((Date.now() - started) / 1000)} s`);
      resolve();
    });
    output.on("error", reject);
  });
}

/**
 * The inner loop: pure library and stack tests. The idempotency tests need dynalite, the local
 * cloud's DynamoDB, so they stay out.
 */
const UNIT = (f: string) =>
  (f.startsWith("lib/") && f !== "lib/idempotency.test.ts") ||
  ["bundling/stable-zip.test.ts", "bundling/build-cache.test.ts", "stacks/config.test.ts", "stacks/pipeline-stack.test.ts", "stacks/payload-pipeline.test.ts", "stacks/terraform-module.test.ts", "stacks/project-config.test.ts", "test/node-versions.test.ts"].includes(f);

const SHARES_PROJECT_OUTPUT = (f: string) =>
  (f.startsWith("cli/") || f.startsWith("local/") || f === "stacks/project-config.test.ts") && !REAL_TERRAFORM.includes(f);

const LOWER_PRIORITY = path.join(PROJECT_ROOT, "test", "lower-priority.ts");

/** The share of CPU time all cores spent idle over the next `ms`. */
async function idleShare(ms: number): Promise<number> {
  const total = () => os.cpus().reduce((t, c) => ({ idle: t.idle + c.times.idle, all: t.all + Object.values(c.times).reduce((a, b) => a + b, 0) }), { idle: 0, all: 0 });
  const before = total();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = total();
  return (after.idle - before.idle) / Math.max(1, after.all - before.all);
}

const args = process.argv.slice(2);
const unit = args.includes("--unit");
const only = args.filter((a) => a !== "--unit");
const files = (only.length > 0 ? only : testFiles()).filter((f) => !unit || UNIT(f));
console.log(`test/run.ts: Node.js ${process.version} (${process.execPath}), ${files.length} test files${unit ? " (--unit)" : ""}`);
// Found once here rather than by each real-terraform file: without the setting, finding the
// mirror may mean searching the file system (about 2 s of CPU each time).
if (!unit && !process.env[PLUGIN_DIR_ENV]) {
  const mirror = await findProviderMirror();
  if (mirror) process.env[PLUGIN_DIR_ENV] = mirror.dir;
}
const QUEUE_ORDER = ["test", "cli", "stacks", "local", "bundling", "handlers", "lib"];
const rank = (f: string) => QUEUE_ORDER.indexOf(f.split("/")[0]!);
const lanes = REAL_TERRAFORM.filter((f) => files.includes(f));
// Priority only matters beside the terraform lanes; without them the check would cost a second.
const queueAtLowPriority = lanes.length > 0 && (await idleShare(1000)) > 0.5;
if (lanes.length > 0) console.log(`# the queue runs at ${queueAtLowPriority ? "low priority (the machine was idle)" : "normal priority (the machine was busy)"}`);
const queue = files.filter((f) => !lanes.includes(f)).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
let projectOutputBusy = false;
let wake: () => void = () => {};

/** Runs queued files one at a time, skipping past a project-output file while another one runs. */
async function worker(): Promise<void> {
  while (queue.length > 0) {
    const next = queue.findIndex((f) => !(projectOutputBusy && SHARES_PROJECT_OUTPUT(f)));
    if (next < 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    const [file] = queue.splice(next, 1) as [string];
    const exclusive = SHARES_PROJECT_OUTPUT(file);
    if (exclusive) projectOutputBusy = true;
    try {
      await runFile(file, { lowPriority: queueAtLowPriority });
    } finally {
      if (exclusive) {
        projectOutputBusy = false;
        wake();
      }
    }
  }
}

await Promise.all([...lanes.map((f) => runFile(f)), worker(), worker()]);
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 ? 1 : 0;
