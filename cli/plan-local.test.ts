/**
 * `npm run plan:local` and `deploy:local` in a copy of the project: the whole stack planned and
 * applied by real Terraform against moto_server, clear errors when a tool is missing, and the pull
 * request workflow running the same plan script.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { findExecutable } from "../local/executables.ts";
import { MOTO_SERVER } from "../local/moto-server.ts";
import { findTerraformTools } from "../local/terraform.ts";
import { projectCopyBase, stackDirOf } from "../stacks/project-copy.ts";

const run = promisify(execFile);
const WORKFLOW = path.join(PROJECT_ROOT, ".github", "workflows", "terraform-plan.yml");

/** The CLI as `npm run plan:local -- args` runs it, with no stack settings from outside. */
function planLocal(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("STACK_") && !k.startsWith("NODE_TEST")));
  // A bound for a hung run, not a performance check: on a shared 2-core machine synth, init, plan
  // and apply (two lifecycle rules, >= 55 s each, in parallel) have taken over 180 s.
  return run(process.execPath, ["cli/plan-local.ts", ...args], { cwd, env: clean, timeout: 400_000, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

test("--help prints the usage and exits 0", async () => {
  const { code, stdout } = await planLocal(PROJECT_ROOT, ["--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /^usage: npm run plan:local/);
});

test("missing tools are named, each with how to get it, before anything is synthesized", async () => {
  const { code, stdout, stderr } = await planLocal(PROJECT_ROOT, [], {
    ...process.env,
    PATH: path.dirname(process.execPath),
    TERRAFORM_PLUGIN_DIR: "/nonexistent/plugins",
  });
  assert.equal(code, 1);
  assert.match(stderr, /terraform is not on PATH: install Terraform 1\.10 or later/);
  assert.match(stderr, /TERRAFORM_PLUGIN_DIR=\/nonexistent\/plugins holds no hashicorp\/aws provider/);
  assert.match(stderr, /moto_server \(an AWS emulator\) is not on PATH: install it with `pip install "moto\[server\]"`/);
  assert.doesNotMatch(stdout, /Synthesized/);
});

test("the pull request workflow runs the same plan script, and is a valid workflow", async () => {
  const workflow = readFileSync(WORKFLOW, "utf8");
  assert.match(workflow, /bash cli\/terraform-plan\.sh "cdktf\.out\/stacks\/\$STACK_NAME"/);
  assert.match(workflow, /PLAN_FILE: cdktf\.out\/stacks\/\$\{\{ env\.STACK_NAME \}\}\/plan\.txt/);
  assert.doesNotMatch(workflow, /^\s*terraform\s+(-chdir\S*\s+)?(init|plan)\b/m, "terraform commands live in the script, not the workflow");
  const validator = path.join(PROJECT_ROOT, "node_modules", "@action-validator", "cli", "cli.mjs");
  const { stdout, stderr } = await run(process.execPath, [validator, WORKFLOW]).catch((err: { stdout: string; stderr: string }) =>
    assert.fail(`action-validator rejected the workflow:\n${err.stdout}${err.stderr}`),
  );
  assert.equal(`${stdout}${stderr}`.trim(), "");
});

const { tools, missing } = await findTerraformTools();
if (!findExecutable(MOTO_SERVER)) missing.push(`${MOTO_SERVER} is not on PATH`);
const skip = missing.length > 0 ? `plan:local needs ${missing.join("; ")}` : false;
if (skip) console.log(`# ${skip}`);

describe("with terraform, the provider mirror and moto_server", { skip }, () => {
  let copies: ReturnType<typeof projectCopyBase>;
  let copy: string;

  before(() => {
    copies = projectCopyBase("plan-local-");
    copy = copies.copy("project");
  });
  after(async () => {
    if (copies) await rm(copies.base, { recursive: true, force: true });
  });

  test("npm run deploy:local prints the plan of the whole stack, applies it and prints the outputs, then stops the emulator", async () => {
    const { code, stdout, stderr } = await planLocal(copy, ["--apply"], { ...process.env, TERRAFORM_PLUGIN_DIR: tools!.mirror.dir });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    const stack = JSON.parse(readFileSync(path.join(stackDirOf(copy), "cdk.tf.json"), "utf8")) as { resource: Record<string, object> };
    const addresses = Object.entries(stack.resource).flatMap(([type, blocks]) => Object.keys(blocks).map((name) => `${type}.${name}`));
    assert.equal(stdout.match(/Plan: \d+ to add/g)?.length, 1, "one plan, shown once and applied as shown");
    assert.match(stdout, new RegExp(`Plan: ${addresses.length} to add, 0 to change, 0 to destroy\\.`));
    for (const address of addresses) assert.ok(stdout.includes(`# ${address} will be created`), `${address} in the plan`);
    assert.match(stdout, new RegExp(`Apply complete! Resources: ${addresses.length} added, 0 changed, 0 destroyed\\.`));
    assert.match(stdout, /consumer_function_name = "AsynchronousFunction"/);
    assert.match(stdout, /bucket_name = "lambda-s3-async-lambda-/);
    // The stack directory is generated and thrown away: no advice to version its lock file.
    assert.match(stdout, /Terraform has been successfully initialized!/);
    assert.doesNotMatch(stdout, /Include this file in your version control|Incomplete lock file information|Try running "terraform plan"/);

    const endpoint = /moto_server at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    assert.ok(endpoint, "the emulator's endpoint is printed");
    await assert.rejects(fetch(endpoint), "the emulator is stopped");
  });
});
