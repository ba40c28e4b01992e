/**
 * `lambda-s3-async-lambda terraform-module` refuses what it cannot build, writing nothing: a bad
 * flag value or a consumer without `handler` exit 1 with the reason, bad usage exits 2.
 * (test/terraform-module.test.ts and test/package.test.ts run it on good input.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { cleanEnv, runScript, transcript } from "./test-support.ts";

const SCRIPT = "cli/lambda-s3-async-lambda.ts";
const tmp = mkdtempSync(path.join(os.tmpdir(), "terraform-module-cli-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("bad values exit 1 and write nothing; bad usage exits 2", async () => {
  const wrong = path.join(tmp, "wrong.ts");
  writeFileSync(wrong, "export async function processPayload() {}\n");
  const out = path.join(tmp, "module");
  const [runtime, noHandler, noOut, unknown] = await Promise.all([
    runScript(SCRIPT, ["terraform-module", "--consumer", wrong, "--out", out, "--runtime", "nodejs18.x"], { env: cleanEnv() }),
    runScript(SCRIPT, ["terraform-module", "--consumer", wrong, "--out", out], { env: cleanEnv() }),
    runScript(SCRIPT, ["terraform-module", "--consumer", wrong], { env: cleanEnv() }),
    runScript(SCRIPT, ["terraform-modules", "--consumer", wrong, "--out", out], { env: cleanEnv() }),
  ]);
  assert.equal(runtime.code, 1, transcript(runtime));
  assert.equal(runtime.stderr.trim(), '--runtime = "nodejs18.x": must be one of "nodejs22.x", "nodejs24.x"');
  assert.equal(noHandler.code, 1, transcript(noHandler));
  assert.match(noHandler.stderr, new RegExp(`${wrong.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not export "handler" \\(it exports: processPayload\\)`));
  assert.ok(!existsSync(out), "nothing written");
  assert.equal(noOut.code, 2, transcript(noOut));
  assert.match(noOut.stderr, /^--consumer and --out are required\nusage: lambda-s3-async-lambda terraform-module/);
  assert.equal(unknown.code, 2, transcript(unknown));
  assert.match(unknown.stderr, /^unknown command: terraform-modules\n/);
});
