/**
 * `npm test`: every `*.test.ts`, on this 2-core machine.
 *
 * - The three real-terraform files each run in a lane of their own from the start, beside
 *   everything else: most of their minutes are the AWS provider waiting on the emulator (an
 *   apply waits about a minute on each S3 lifecycle rule), not CPU.
 * - Two workers take the other files from one queue, so the work balances itself.
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
import path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { PROJECT_ROOT } from "../bundling/bundle.ts";

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

function runFiles(files: readonly string[]): Promise<void> {
  if (files.length === 0) return Promise.resolve();
  const stream = run({ files: files.map((f) => path.join(PROJECT_ROOT, f)), concurrency: 1 });
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
    output.on("end", resolve);
    output.on("error", reject);
  });
}

/**
 * The inner loop: pure library and stack tests. The idempotency tests need dynalite, the local
 * cloud's DynamoDB, so they stay out.
 */
const UNIT = (f: string) =>
  (f.startsWith("lib/") && f !== "lib/idempotency.test.ts") ||
  ["bundling/stable-zip.test.ts", "stacks/config.test.ts", "stacks/pipeline-stack.test.ts", "stacks/payload-pipeline.test.ts", "stacks/terraform-module.test.ts", "stacks/project-config.test.ts", "test/node-versions.test.ts"].includes(f);

const SHARES_PROJECT_OUTPUT = (f: string) =>
  (f.startsWith("cli/") || f.startsWith("local/") || f === "stacks/project-config.test.ts") && !REAL_TERRAFORM.includes(f);

const args = process.argv.slice(2);
const unit = args.includes("--unit");
const only = args.filter((a) => a !== "--unit");
const files = (only.length > 0 ? only : testFiles()).filter((f) => !unit || UNIT(f));
console.log(`test/run.ts: Node.js ${process.version} (${process.execPath}), ${files.length} test files${unit ? " (--unit)" : ""}`);
const queue = files.filter((f) => !REAL_TERRAFORM.includes(f));
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
      await runFiles([file]);
    } finally {
      if (exclusive) {
        projectOutputBusy = false;
        wake();
      }
    }
  }
}

await Promise.all([...REAL_TERRAFORM.filter((f) => files.includes(f)).map((f) => runFiles([f])), worker(), worker()]);
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 ? 1 : 0;
