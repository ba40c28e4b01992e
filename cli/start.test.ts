/**
 * `npm start`, run as a user runs it (npm itself, so on the Node.js npm gives its scripts): its own
 * process, judged by the exit code and the summary table it prints. Each run bundles, synthesizes and starts the local cloud (~4 s), so there are
 * three: the defaults, a 4 KiB limit (boundary payloads at 4,096 and 4,097 bytes), and a bad
 * setting. Synthesis goes to a temp directory so the runs leave cdktf.out alone.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { DEFAULT_CONSUMER_NAME, EVENT_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { readFileSync } from "node:fs";
import { cleanEnv, run, transcript, type RunResult } from "./test-support.ts";

let outdir: string;
before(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), "npm-start-"));
});
after(async () => {
  await rm(outdir, { recursive: true, force: true });
});

/** `npm start` from a user's shell: none of the npm_* variables of the `npm test` running this. */
async function npmStart(env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const shell = Object.fromEntries(Object.entries(cleanEnv({ CDKTF_OUTDIR: outdir, ...env })).filter(([k]) => !/^(npm_|INIT_CWD$|NODE$)/.test(k)));
  const r = await run("npm", ["start"], { env: shell });
  // npm's own two lines ("> name@version start", "> node cli/start.ts") come first.
  return { ...r, stdout: r.stdout.replace(/^\n?> [^\n]*\n> [^\n]*\n\n/, "") };
}

const nodeOfNpmScripts = `v${(JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { devDependencies: { node: string } }).devDependencies.node}`;

interface SummaryRow {
  route: string;
  payloadBytes: number;
  inlineEvent: number | undefined;
  sha256Match: string;
}

const number = (cell: string | undefined) => (cell ? Number(cell.replace(/,/g, "")) : undefined);

/** The summary table's rows, by payload name (the table's columns are separated by 2+ spaces). */
function summary(stdout: string): Map<string, SummaryRow> {
  const lines = stdout.split("\n");
  const header = lines.findIndex((l) => /^\s+payload\s{2,}route\s{2,}payload bytes\s{2,}inline event\s{2,}sha256 match/.test(l));
  assert.ok(header >= 0, `a summary table is printed:\n${stdout}`);
  const rows = new Map<string, SummaryRow>();
  for (const line of lines.slice(header + 2)) {
    if (!line.trim() || line.trim().startsWith("inline (br):") || line.trim().startsWith("sender:")) break;
    const [name, route, payloadBytes, inlineEvent, sha256Match] = line.trim().split(/\s{2,}/);
    rows.set(name!, { route: route!, payloadBytes: number(payloadBytes)!, inlineEvent: number(inlineEvent), sha256Match: sha256Match! });
  }
  return rows;
}

/** Exit 0, the limit in the header line, and the four rows as this limit makes them. */
function assertDemoPassed(r: RunResult, limit: number): void {
  assert.equal(r.code, 0, transcript(r));
  const fmt = new Intl.NumberFormat("en-US").format;
  assert.match(r.stdout, /▸ Bundling handlers and synthesizing the stack … done in \d+\.\d s/);
  assert.match(r.stdout, new RegExp(`inline limit ${fmt(limit)} bytes`));
  const rows = summary(r.stdout);
  assert.deepEqual([...rows.keys()], ['small sample {"key":"value"}', `large sample (> ${fmt(limit)} B)`, "inline event = limit", "inline event = limit + 1"]);
  const small = rows.get('small sample {"key":"value"}')!;
  const large = rows.get(`large sample (> ${fmt(limit)} B)`)!;
  const atLimit = rows.get("inline event = limit")!;
  const overLimit = rows.get("inline event = limit + 1")!;
  assert.deepEqual(small, { route: "inline", payloadBytes: 15, inlineEvent: small.inlineEvent, sha256Match: "yes" });
  assert.ok(small.inlineEvent! < limit);
  // The sample's records compress well, so the large sample stays inline, compressed.
  assert.deepEqual(large, { route: "inline (br)", payloadBytes: large.payloadBytes, inlineEvent: large.inlineEvent, sha256Match: "yes" });
  assert.ok(large.payloadBytes > limit, `the large sample (${large.payloadBytes} B) is over the limit`);
  assert.ok(large.inlineEvent! <= limit, `the compressed event (${large.inlineEvent} B) fits`);
  assert.deepEqual(atLimit, { route: "inline", payloadBytes: atLimit.payloadBytes, inlineEvent: limit, sha256Match: "yes" });
  assert.deepEqual(overLimit, { route: "s3 (too-large)", payloadBytes: atLimit.payloadBytes + 1, inlineEvent: limit + 1, sha256Match: "yes" });
  assert.match(r.stdout, new RegExp(`\\nAll 4 payloads reached ${DEFAULT_CONSUMER_NAME} byte-identical\\.`));
  // npm runs the script on the project's Node, and the local functions run on the same binary.
  assert.ok(r.stdout.includes(`\n  Functions run on Node.js ${nodeOfNpmScripts} here, nodejs22.x when deployed\n`), `the functions ran on ${nodeOfNpmScripts}:\n${r.stdout}`);
}

/**
 * What varies between runs (timings, ports, column widths that follow them, the output directory),
 * masked so the rest can be compared line by line.
 */
function normalized(output: string): string[] {
  return output
    .trimEnd()
    .split("\n")
    .map((line) =>
      line
        .replace(path.relative(PROJECT_ROOT, outdir), "cdktf.out")
        .replace(/\d+(\.\d+)? (ms|s)\b/g, "N $2")
        .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT")
        .replace(/─+/g, "─")
        .replace(/ {2,}/g, "  ")
        .trimEnd(),
    );
}

test("npm start delivers the samples and the boundary payloads byte-identical and exits 0; a bad setting exits 1", async () => {
  // The failing run stops before bundling, so it can share the CPU with the first.
  const [demo, bad] = await Promise.all([npmStart(), npmStart({ STACK_INLINE_LIMIT_BYTES: "abc" })]);
  assertDemoPassed(demo, EVENT_PAYLOAD_LIMIT_BYTES);
  assert.equal(demo.stderr, "", "nothing on stderr (no SDK Node-version warning)");

  // docs/local-cloud.md shows this run's output; only timings and ports may differ.
  const page = await readFile(path.join(PROJECT_ROOT, "docs", "local-cloud.md"), "utf8");
  const sample = /\n`npm start` bundles the handlers[\s\S]*?```text\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(sample, "docs/local-cloud.md shows npm start's output in a ```text block");
  assert.deepEqual(normalized(sample), normalized(demo.stdout));

  assert.equal(bad.code, 1, transcript(bad));
  assert.match(bad.stderr, /Invalid stack configuration:\n {2}- inlineLimitBytes = "abc" \(from environment variable STACK_INLINE_LIMIT_BYTES\): must be an integer from 1 to 1048576 bytes/);
  assert.doesNotMatch(bad.stdout, /payloads reached/);
});

test("npm start with STACK_INLINE_LIMIT_BYTES=4096: 4,096-byte event inline, 4,097 through S3", async () => {
  assertDemoPassed(await npmStart({ STACK_INLINE_LIMIT_BYTES: "4096" }), 4096);
});
