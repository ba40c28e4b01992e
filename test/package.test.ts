/**
 * The package as a team gets it: `npm pack`, then a project of the team's own that holds the
 * tarball unpacked in node_modules (as `npm install <tarball>` leaves it) and the README's three
 * files, copied from the README itself: a plain `.mjs` producer, a consumer module made with the
 * factory, and a cdktf app that embeds the construct under its own provider and backend.
 *
 * No network at test time: the package's dependencies are this repository's installed ones,
 * hard-linked into the project (a static check below proves the tarball declares every package
 * its code imports). Then:
 * - the producer runs on plain Node (no tsx), and `require()` loads it;
 * - the team's TypeScript type-checks with `moduleResolution: "nodenext"`, strict and not;
 * - the consumer, bundled from the team's file exactly as the construct bundles it, receives a
 *   small and a 30 MiB payload byte-identical in the local cloud;
 * - the app synthesizes in two directories to the same JSON (same `source_code_hash`), and
 *   real terraform validates and plans it against moto_server;
 * - the package's command (its `bin`) runs docs/terraform-module.md's command on the team's
 *   consumer, twice with the same bytes, and real terraform validates the page's main.tf with it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { bundleFunction, FUNCTIONS, PROJECT_ROOT, type Bundle } from "../bundling/bundle.ts";
import { findExecutable } from "../local/executables.ts";
import { type LocalCloud, startLocalCloud } from "../local/cloud.ts";
import { MOTO_INSTALL_HINT, MOTO_SERVER, startMotoServer, type MotoServer } from "../local/moto-server.ts";
import { findTerraformTools, TerraformWorkdir } from "../local/terraform.ts";
import { linkTree } from "../stacks/project-copy.ts";

const run = promisify(execFile);
const PACKAGE = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const CONSTRUCT_PEERS = ["cdktf", "constructs", "@cdktf/provider-aws", "esbuild"];
const MiB = 1_048_576;

/** The README's files: fenced blocks whose first line is a comment naming the file. */
function readmeFiles(): Record<string, string> {
  const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  const files: Record<string, string> = {};
  for (const m of readme.matchAll(/```(?:ts|js)\n\/\/ ([\w.-]+):[^\n]*\n([\s\S]*?)```/g)) files[m[1]!] = `${m[0].split("\n")[1]}\n${m[2]}`;
  return files;
}

const { tools, missing } = await findTerraformTools();
const moto = findExecutable(MOTO_SERVER);
if (!moto) missing.push(`${MOTO_SERVER} is not on PATH: ${MOTO_INSTALL_HINT}`);

let base: string;
let tarball: string;
let team: string;

/** A team project: its files, node_modules hard-linked from ours, the tarball unpacked as the package. */
async function teamProject(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(readmeFiles())) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "team-app", private: true, type: "module" }, null, 2));
  writeFileSync(path.join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: "npx tsx main.ts" }, null, 2));
  linkTree(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
  const installed = path.join(dir, "node_modules", PACKAGE.name);
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  // What npm install does for the package's bin: a link in node_modules/.bin, executable.
  const { bin } = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as { bin: Record<string, string> };
  for (const [name, file] of Object.entries(bin)) {
    chmodSync(path.join(installed, file), 0o755);
    symlinkSync(path.join("..", PACKAGE.name, file), path.join(dir, "node_modules", ".bin", name));
  }
  return dir;
}

before(async () => {
  // Hard links need one file system; under the project if the OS temp directory is another.
  base = mkdtempSync(path.join(os.tmpdir(), "package-test-"));
  try {
    linkTree(path.join(PROJECT_ROOT, "node_modules", "tsx"), path.join(base, "probe"));
  } catch {
    rmSync(base, { recursive: true, force: true });
    base = mkdtempSync(path.join(PROJECT_ROOT, ".package-test-"));
  }
  const packed = await run("npm", ["pack", "--json", "--pack-destination", base], { cwd: PROJECT_ROOT, timeout: 300_000 });
  tarball = path.join(base, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  team = await teamProject(path.join(base, "one", "team-app"));
});

after(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe("the tarball", () => {
  test("holds built JavaScript and declarations for producer, consumer and construct, and no sources or tests", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.split("\n").filter(Boolean);
    for (const f of ["dist/lib/producer.js", "dist/lib/producer.d.ts", "dist/lib/consumer.js", "dist/lib/consumer.d.ts", "dist/stacks/payload-pipeline.js", "dist/stacks/payload-pipeline.d.ts", "dist/handlers/sender.js", ...Object.values(PACKAGE.bin)]) {
      assert.ok(files.includes(`package/${f}`), `${f} is in the tarball`);
    }
    assert.deepEqual(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), [], "no TypeScript sources");
    assert.deepEqual(files.filter((f) => /\.test\./.test(f)), [], "no tests");
  });

  test("declares every package its code imports; the construct's are optional peers, so a producer-only install has no cdktf", () => {
    const installed = path.join(team, "node_modules", PACKAGE.name);
    const imported = new Set<string>();
    for (const file of readdirSync(path.join(installed, "dist"), { recursive: true }) as string[]) {
      if (!file.endsWith(".js")) continue;
      const text = readFileSync(path.join(installed, "dist", file), "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"]*?from\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith("node:") || spec.startsWith(".")) continue;
        imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
    const declared = { ...PACKAGE.dependencies, ...PACKAGE.peerDependencies };
    assert.deepEqual([...imported].filter((p) => !(p in declared)).sort(), [], "imported but not declared");
    for (const peer of CONSTRUCT_PEERS) {
      assert.ok(!(peer in PACKAGE.dependencies), `${peer} is not a dependency`);
      assert.equal(PACKAGE.peerDependenciesMeta[peer]?.optional, true, `${peer} is an optional peer`);
    }
  });
});

describe("1. send from your code: the README's send.mjs on plain Node", () => {
  let cloud: LocalCloud;
  let consumer: Bundle;

  before(async () => {
    // The consumer is the team's process.ts, bundled by the same code the construct runs.
    const bundles = path.join(base, "bundles");
    const [teamConsumer, sender] = await Promise.all([
      bundleFunction({ entry: path.join(team, "process.ts"), outDir: path.join(bundles, "consumer") }),
      bundleFunction({ entry: FUNCTIONS.sender.entry, outDir: path.join(bundles, "sender"), workingDir: PROJECT_ROOT }),
    ]);
    consumer = teamConsumer;
    cloud = await startLocalCloud({ bundles: { consumer, sender } });
  });
  after(() => cloud?.close());

  const sendFile = async (bytes: Buffer) => {
    const file = path.join(base, `payload-${bytes.length}.bin`);
    writeFileSync(file, bytes);
    const env = {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_REGION: cloud.region,
      AWS_ENDPOINT_URL_LAMBDA: cloud.lambdaEndpoint,
      AWS_ENDPOINT_URL_S3: cloud.s3Endpoint,
      CONSUMER_FUNCTION: cloud.settings.consumerName,
      PAYLOAD_BUCKET: cloud.settings.bucket,
    };
    const { stdout } = await run(process.execPath, ["send.mjs", file], { cwd: team, env, timeout: 300_000 });
    const result = JSON.parse(stdout) as { route: string; id: string; sha256: string; upload?: string };
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    assert.equal(result.sha256, sha256);
    const line = await cloud.waitForLog(cloud.settings.consumerName, (l) => l.includes(`"received":"${result.id}"`));
    const received = JSON.parse(line.slice(line.indexOf("{"))) as { size: number; sha256: string; route: string };
    assert.deepEqual(received, { received: result.id, route: result.route, size: bytes.length, sha256 }, "the team's processPayload got the same bytes");
    return result;
  };

  test("a small file goes inline and the team's consumer receives it byte-identical", async () => {
    const result = await sendFile(Buffer.from(JSON.stringify({ order: 42, items: ["ä", "😀"] })));
    assert.equal(result.route, "inline");
  });

  test("30 MiB goes through S3 as a multipart upload and arrives byte-identical", async () => {
    const result = await sendFile(randomBytes(30 * MiB));
    assert.deepEqual([result.route, result.upload], ["s3", "multipart"]);
  });

  test("require() loads the producer and the consumer factory", async () => {
    const { stdout } = await run(process.execPath, ["-e", `const p = require("${PACKAGE.name}/producer"); const c = require("${PACKAGE.name}/consumer"); console.log(typeof p.sendPayload, typeof c.createConsumerHandler)`], { cwd: team });
    assert.equal(stdout.trim(), "function function");
  });

  test("the bundle that ran here is the one the construct deploys", async () => {
    const json = await synthesized(team);
    assert.equal(consumerFunction(json).source_code_hash, consumer.contentHash);
  });
});

describe("the team's TypeScript, checked with moduleResolution nodenext", () => {
  for (const strict of [true, false]) {
    test(`strict: ${strict}`, async () => {
      const producer = `import { sendPayload, InvalidSendOptionsError, type SendResult } from "${PACKAGE.name}/producer";\n` +
        "export async function send(report: unknown): Promise<SendResult> {\n" +
        '  const result = await sendPayload({ consumerFunction: "orders-consumer", bucket: "orders-payloads" }, report, { payloadSizeThreshold: 262_144 });\n' +
        "  if (result.route === \"s3\") console.log(result.key, result.size);\n  return result;\n}\nexport const isOptionsError = (e: unknown) => e instanceof InvalidSendOptionsError;\n";
      writeFileSync(path.join(team, "send-typed.ts"), producer);
      const config = { compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict, noEmit: true, skipLibCheck: true, types: ["node"] }, files: ["send-typed.ts", "process.ts", "main.ts"] };
      writeFileSync(path.join(team, "tsconfig.json"), JSON.stringify(config));
      const tsc = path.join(team, "node_modules", "typescript", "bin", "tsc");
      const result = await run(process.execPath, [tsc, "-p", "."], { cwd: team, timeout: 120_000 }).catch((e: { stdout: string }) => e);
      assert.equal(result.stdout.trim(), "", "no type errors");
    });
  }
});

async function synthesized(dir: string): Promise<Record<string, any>> {
  await run(process.execPath, ["--import", "tsx", "main.ts"], { cwd: dir, timeout: 240_000 });
  return JSON.parse(readFileSync(path.join(dir, "cdktf.out", "stacks", "orders", "cdk.tf.json"), "utf8"));
}

function consumerFunction(json: Record<string, any>): { source_code_hash: string; function_name: string } & Record<string, any> {
  const fns = Object.values(json.resource.aws_lambda_function) as ({ function_name: string; source_code_hash: string } & Record<string, any>)[];
  return fns.find((f) => f.function_name === "orders-consumer")!;
}

describe("2. embed the construct: the README's main.ts in a team's own stack", { skip: missing.length > 0 ? `needs ${missing.join("; ")}` : false }, () => {
  let json: Record<string, any>;
  let server: MotoServer;

  before(async () => {
    [json, server] = await Promise.all([synthesized(team), startMotoServer(moto)]);
  });
  after(() => server?.stop());

  test("it sits under the team's provider and S3 backend, with its settings on both functions", () => {
    assert.equal(json.provider.aws.length, 1, "one provider: the team's");
    assert.equal(json.provider.aws[0].region, "eu-central-1");
    assert.equal(json.terraform.backend.s3.bucket, "acme-terraform-state");
    const functions = Object.values(json.resource.aws_lambda_function) as Record<string, any>[];
    assert.deepEqual(functions.map((f) => f.function_name).sort(), ["orders-consumer", "orders-sender"]);
    for (const f of functions) {
      assert.deepEqual(f.tracing_config, { mode: "Active" });
      assert.deepEqual(f.vpc_config, { subnet_ids: ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"], security_group_ids: ["sg-0a1b2c3d4e5f60718"] });
    }
    assert.equal(consumerFunction(json).reserved_concurrent_executions, 20);
    for (const role of Object.values(json.resource.aws_iam_role) as Record<string, any>[]) {
      if (role.name === "orders-api") continue;
      assert.equal(role.permissions_boundary, "arn:aws:iam::111122223333:policy/team-boundary");
    }
  });

  test("both producers may invoke the consumer and put payload objects, the other account included; grantSend covers the in-stack role", () => {
    const permissions = (Object.values(json.resource.aws_lambda_permission) as Record<string, any>[]).map((p) => p.principal).sort();
    assert.deepEqual(permissions, ["444455556666", "arn:aws:iam::111122223333:role/billing", "s3.amazonaws.com"]);
    const documents = json.data.aws_iam_policy_document as Record<string, { statement: Record<string, any>[] }>;
    const bucketStatement = Object.values(documents).flatMap((d) => d.statement).find((s) => s.sid === "ProducersWritePayloads")!;
    assert.deepEqual(bucketStatement.actions, ["s3:AbortMultipartUpload", "s3:PutObject"]);
    assert.deepEqual(bucketStatement.principals[0].identifiers, ["arn:aws:iam::111122223333:role/billing", `arn:${partitionRef(json)}:iam::444455556666:root`]);
    const send = Object.values(documents).find((d) => d.statement.some((s) => s.sid === "InvokeConsumer" && s.actions.length === 1 && !("principals" in s) && d.statement.some((t) => t.sid === "WritePayloads" && t.actions.includes("s3:AbortMultipartUpload"))));
    assert.ok(send, "grantSend's policy has InvokeConsumer and WritePayloads with AbortMultipartUpload");
  });

  test("the same code synthesized in another directory gives the same JSON and the same source_code_hash", async () => {
    const other = await teamProject(path.join(base, "two", "nested", "deeper", "team-app"));
    const again = await synthesized(other);
    assert.equal(consumerFunction(again).source_code_hash, consumerFunction(json).source_code_hash);
    assert.deepEqual(again, json);
  });

  test("real terraform validates it and plans it against moto_server", async () => {
    const work = new TerraformWorkdir(path.join(base, "terraform"), tools!, server);
    await work.load(path.join(team, "cdktf.out", "stacks", "orders"));
    await work.init();
    await work.run(["validate", "-no-color"]);
    const plan = await work.plan();
    assert.equal(plan.code, 2, "the plan has changes");
    const created = Object.entries(plan.changes).filter(([, a]) => a === "create").map(([addr]) => addr);
    for (const addr of ["aws_lambda_function", "aws_s3_bucket", "aws_lambda_permission", "aws_iam_role_policy", "aws_dynamodb_table", "aws_s3_bucket_notification"]) {
      assert.ok(created.some((c) => c.startsWith(`${addr}.`)), `plans to create an ${addr}`);
    }
    assert.deepEqual(Object.values(plan.changes).filter((a) => a !== "create" && a !== "read"), [], "nothing but creations");
  });
});

function partitionRef(json: Record<string, any>): string {
  const name = Object.keys(json.data.aws_partition)[0]!;
  return `\${data.aws_partition.${name}.partition}`;
}

/** docs/terraform-module.md's command line and its `# main.tf`. */
function terraformModulePage(): { command: string[]; mainTf: string } {
  const page = readFileSync(path.join(PROJECT_ROOT, "docs", "terraform-module.md"), "utf8");
  const command = /^npx (lambda-s3-async-lambda terraform-module .+)$/m.exec(page)?.[1];
  const mainTf = /```hcl\n(# main\.tf\n[\s\S]*?)```/.exec(page)?.[1];
  assert.ok(command && mainTf, "the page has the command and main.tf");
  return { command: command.split(" "), mainTf };
}

describe("the Terraform module for HCL: docs/terraform-module.md's command and main.tf, from the tarball", () => {
  const { command, mainTf } = terraformModulePage();
  const moduleDir = path.join("modules", "payload-pipeline");
  const generate = () => run("npx", ["--no-install", ...command], { cwd: team, timeout: 240_000 });
  let first: { stdout: string };
  let bytes: Record<string, Buffer>;
  const files = () =>
    Object.fromEntries(["main.tf.json", "assets/consumer.zip", "assets/sender.zip"].map((f) => [f, readFileSync(path.join(team, moduleDir, f))]));

  before(async () => {
    first = await generate();
    bytes = files();
  });

  test("the command bundles the team's process.ts into the module; run again, it writes nothing", async () => {
    assert.match(first.stdout, /written: main\.tf\.json, assets\/consumer\.zip, assets\/sender\.zip/);
    const json = JSON.parse(bytes["main.tf.json"]!.toString("utf8"));
    assert.equal(json.provider, undefined);
    const consumer = (Object.values(json.resource.aws_lambda_function) as { function_name: string; source_code_hash: string }[]).find((f) => f.function_name === "${var.name_prefix}-consumer")!;
    const teamBundle = await bundleFunction({ entry: path.join(team, "process.ts"), outDir: path.join(base, "bundles", "module-consumer") });
    assert.equal(consumer.source_code_hash, teamBundle.contentHash, "the team's consumer, bundled as the construct bundles it");
    const again = await generate();
    assert.match(again.stdout, /unchanged: main\.tf\.json, assets\/consumer\.zip, assets\/sender\.zip/);
    for (const [name, data] of Object.entries(files())) assert.ok(data.equals(bytes[name]!), `${name}: the same bytes`);
  });

  test("real terraform validates the page's main.tf with the module", { skip: tools ? false : `needs ${missing.join("; ")}` }, async () => {
    writeFileSync(path.join(team, "main.tf"), mainTf);
    const work = new TerraformWorkdir(team, tools!, { endpoint: "http://127.0.0.1:9" });
    await work.init();
    assert.match((await work.run(["validate", "-no-color"])).stdout, /Success! The configuration is valid/);
  });
});
