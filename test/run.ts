/**
 * `npm test`: every `*.test.ts`, in three lanes that run side by side, each one file at a time.
 *
 * - The real-terraform suite: minutes of the AWS provider waiting on the emulator, in copies of
 *   the project.
 * - `cli/plan-local.test.ts` (also in a copy), then the files that work in temporary directories
 *   only: lib/, handlers/, bundling/, stacks/ and test/.
 * - The files that use the project's own dist/ or cdktf.out/ (cli/ and local/, which bundle and
 *   start servers from the project, and stacks/project-config.test.ts): they must not overlap.
 *
 * The machine's two cores are the limit, so the lanes are balanced by hand to end close together.
 * node's own `--test-concurrency` cannot express this (it sorts the files and fills any free
 * slot). The runner ends with one line, "N passed, N failed, N skipped", and exits 1 on any
 * failure.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { PROJECT_ROOT } from "../bundling/bundle";

const ROOTS = ["lib", "handlers", "bundling", "stacks", "local", "cli", "test"];
const REAL_TERRAFORM = ["stacks/terraform.test.ts", "cli/plan-local.test.ts"];

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

function lane(files: readonly string[]): Promise<void> {
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

const SHARES_PROJECT_OUTPUT = (f: string) => f.startsWith("cli/") || f.startsWith("local/") || f === "stacks/project-config.test.ts";

const only = process.argv.slice(2);
const files = only.length > 0 ? only : testFiles();
const [terraform, planLocal] = REAL_TERRAFORM;
const lanes = [
  files.filter((f) => f === terraform),
  files.filter((f) => f === planLocal || (!REAL_TERRAFORM.includes(f) && !SHARES_PROJECT_OUTPUT(f))),
  files.filter((f) => !REAL_TERRAFORM.includes(f) && SHARES_PROJECT_OUTPUT(f)),
];
await Promise.all(lanes.map((l) => lane(l)));
console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 ? 1 : 0;
