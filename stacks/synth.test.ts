/**
 * Determinism: plans reviewed in pull requests must not change unless the code did. main.ts is
 * run in two fresh copies of the project, in different directories, and must write byte-identical
 * JSON with no trace of the machine; a change to one handler must change only that function.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { DEFAULT_SENDER_NAME } from "../lib/contract.ts";
import { projectCopyBase, stackDirOf, synthIn } from "./project-copy.ts";
import { configFrom, synthesize, type Bundles } from "./test-support.ts";

const INVALID_OUTDIR = "cdktf.out.invalid";

let copyBase: ReturnType<typeof projectCopyBase>;
let base: string;
let copies: { a: string; b: string };
let invalidRun: Promise<unknown>;
let bundler: typeof import("../bundling/bundle.ts");
/** Copy b's bundles, rebuilt in-process: the same bytes main.ts deployed there. */
let bundles: Bundles;

function output(copy: string): string {
  return readFileSync(path.join(stackDirOf(copy), "cdk.tf.json"), "utf8");
}

/** Every string in a JSON document, keys included. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** Fails on anything that ties the output to a machine, a directory or a moment. */
function assertPortable(text: string, forbidden: readonly string[]): void {
  for (const dir of [PROJECT_ROOT, os.tmpdir(), os.homedir(), ...forbidden]) {
    assert.ok(!text.includes(dir), `output contains the path ${dir}`);
  }
  for (const s of strings(JSON.parse(text))) {
    // cdktf's "//" metadata keys and log group names are the only strings that may start with a slash.
    assert.ok(!s.startsWith("/") || s === "//" || s.startsWith("/aws/lambda/"), `absolute path in output: ${s}`);
    assert.ok(!/^[A-Za-z]:[\\/]/.test(s), `absolute Windows path in output: ${s}`);
    assert.ok(!/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s), `timestamp in output: ${s}`);
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(s), `UUID in output: ${s}`);
  }
}

/** Paths of the leaves that differ between two JSON documents. */
function differences(x: unknown, y: unknown, at = ""): string[] {
  if (x && y && typeof x === "object" && typeof y === "object") {
    return [...new Set([...Object.keys(x), ...Object.keys(y)])].flatMap((key) =>
      differences((x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key], `${at}.${key}`),
    );
  }
  return x === y ? [] : [at];
}

before(async () => {
  copyBase = projectCopyBase("synth-copies-");
  copies = { a: copyBase.copy("a"), b: copyBase.copy(path.join("somewhere", "else", "b")) };
  base = copyBase.base;
  // Validation fails before anything is written, so this can run in copy a beside a valid
  // synthesis. Its own output directory shows whether it wrote anything; inspected below.
  invalidRun = synthIn(copies.a, { STACK_MEMORY_SIZE: "64", CDKTF_OUTDIR: INVALID_OUTDIR }).then(
    () => assert.fail("synthesis with memorySize 64 succeeded"),
    (err: unknown) => err,
  );
  await Promise.all([synthIn(copies.a), synthIn(copies.b), invalidRun]);
  bundler = await import(pathToFileURL(path.join(copies.b, "bundling", "bundle.ts")).href);
  bundles = await bundler.bundleHandlers({ outDir: path.join(copyBase.base, "bundles") });
});

after(async () => {
  if (copyBase) await rm(copyBase.base, { recursive: true, force: true });
});

test("main.ts writes cdktf.out/stacks/<stack>/cdk.tf.json, each function pointing at a zip of its bundle", () => {
  const json = JSON.parse(output(copies.a));
  const functions = Object.values(json.resource.aws_lambda_function) as { filename: string; source_code_hash: string }[];
  assert.deepEqual(functions.map((f) => f.source_code_hash).sort(), [bundles.sender.contentHash, bundles.consumer.contentHash].sort());
  for (const f of functions) {
    assert.ok(!path.isAbsolute(f.filename), f.filename);
    const zip = readFileSync(path.join(stackDirOf(copies.a), f.filename));
    assert.equal(zip.readUInt32LE(0), 0x04034b50, "a zip archive");
    // The module and its source map.
    assert.ok(zip.includes("index.mjs") && zip.includes("index.mjs.map"));
  }
});

test("two clean syntheses in different directories are byte-identical and portable", () => {
  assert.equal(output(copies.b), output(copies.a));
  assert.equal(readFileSync(path.join(copies.b, "cdktf.out", "manifest.json"), "utf8"), readFileSync(path.join(copies.a, "cdktf.out", "manifest.json"), "utf8"));
  assertPortable(output(copies.a), [base]);
});

test("the KMS, S3-backend and nodejs24.x variant is as portable", () => {
  const config = configFrom({ kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abcd", stateBucket: "state-bucket", runtime: "nodejs24.x" });
  const one = synthesize(config, path.join(base, "one")).text;
  assert.equal(synthesize(config, path.join(base, "two", "deeper")).text, one);
  assertPortable(one, [base]);
});

test("changing the sender's source changes only the sender's code hash and asset path", async () => {
  appendFileSync(path.join(copies.b, "handlers", "sender.ts"), '\nexport const synthProbe = "changed";\n');
  const changed = await bundler.bundleHandlers({ outDir: path.join(base, "changed-bundles") });
  assert.equal(changed.consumer.contentHash, bundles.consumer.contentHash);
  assert.notEqual(changed.sender.contentHash, bundles.sender.contentHash);

  const before = JSON.parse(output(copies.b));
  await synthIn(copies.b);
  const after = JSON.parse(output(copies.b));
  const sender = Object.entries(before.resource.aws_lambda_function as Record<string, { function_name: string }>).find(([, f]) => f.function_name === DEFAULT_SENDER_NAME)![0];
  assert.deepEqual(differences(before, after).sort(), [
    `.resource.aws_lambda_function.${sender}.filename`,
    `.resource.aws_lambda_function.${sender}.source_code_hash`,
  ]);
  assert.equal(after.resource.aws_lambda_function[sender].source_code_hash, changed.sender.contentHash);
});

test("a bad setting stops main.ts with the validation message and no stack trace, before writing anything", async () => {
  const err = (await invalidRun) as { code: number; stderr: string };
  assert.equal(err.code, 1);
  assert.match(err.stderr, /memorySize = "64" \(from environment variable STACK_MEMORY_SIZE\): must be an integer from 128 to 10240 MB/);
  assert.ok(!err.stderr.includes("    at "), err.stderr);
  // cdktf's App creates its output directory when constructed; a valid and an invalid synthesis
  // into one directory raced on that mkdir (EEXIST) while validation came after it.
  assert.ok(!existsSync(path.join(copies.a, INVALID_OUTDIR)), "the failed synthesis created its output directory");
});
