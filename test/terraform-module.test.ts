/**
 * The generated Terraform module as an HCL team uses it (docs/terraform-module.md): the command
 * writes it from the team's consumer file into the team's root configuration
 * (test/terraform-module/main.tf), which calls it twice with for_each (and once with count = 0)
 * under its own provider, pointed at moto_server. Through real Terraform and the real
 * hashicorp/aws provider from the local mirror: init, validate, plan, apply, a second plan with no
 * changes, a business-code change that plans as one update per instance, destroy. Bad values
 * fail `terraform plan` with the construct's words for the same values.
 *
 * The one accommodation for the emulator: moto does not return a function's LoggingConfig, so an
 * override file the test puts into the module's directory (Terraform merges `*_override.tf.json`
 * files into their module) ignores `logging_config` drift; real AWS shows none.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GetFunctionConcurrencyCommand, GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient, ListTagsCommand } from "@aws-sdk/client-lambda";
import { GetBucketEncryptionCommand, GetBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { findExecutable } from "../local/executables.ts";
import { MOTO_INSTALL_HINT, MOTO_SERVER, startMotoServer, type MotoServer } from "../local/moto-server.ts";
import { findTerraformTools, loggingConfigDriftOverride, TerraformWorkdir, type PlanResult, type RunResult } from "../local/terraform.ts";
import { settingsPhrase } from "../stacks/constraints.ts";
import { inModuleWords, MODULE_VARIABLES, variableName } from "../stacks/module-variables.ts";
import { InvalidPipelinePropsError, resolvePipelineProps } from "../stacks/payload-pipeline-props.ts";
import type { PayloadPipelineProps } from "../stacks/payload-pipeline.ts";
import { ASSETS_DIR, MODULE_FILE } from "../stacks/terraform-module.ts";

const run = promisify(execFile);
const { tools, missing } = await findTerraformTools();
const moto = findExecutable(MOTO_SERVER);
if (!moto) missing.push(`${MOTO_SERVER} is not on PATH: ${MOTO_INSTALL_HINT}`);
const skip = missing.length > 0 ? `terraform module suite skipped: ${missing.join("; ")}` : false;
if (skip) console.log(`# ${skip}`);

const MODULE_DIR = path.join("modules", "payload-pipeline");
const REGION = "eu-central-1";
const INSTANCES = ["invoices", "orders"];

/** The team's consumer: its own file, around the package's consumer runtime. */
const CONSUMER = `import { createHash } from "node:crypto";
import { createConsumerHandler } from ${JSON.stringify(path.join(PROJECT_ROOT, "lib", "consumer.ts"))};

export const handler = createConsumerHandler({
  async processPayload(bytes, meta) {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    console.log(JSON.stringify({ received: meta.id, route: meta.route, size: bytes.length, sha256 }));
  },
});
`;

/** `npx lambda-s3-async-lambda terraform-module …`, from source, in a root configuration. */
async function generate(root: string, team: string): Promise<string> {
  const consumer = path.relative(root, path.join(team, "process.ts"));
  // tsx by its location: the root configuration has no node_modules of its own.
  const { stdout } = await run(process.execPath, [path.join(PROJECT_ROOT, "cli", "lambda-s3-async-lambda.ts"), "terraform-module", "--consumer", consumer, "--out", MODULE_DIR], {
    cwd: root,
    timeout: 180_000,
  });
  return stdout;
}

/** The module's files, by path inside it. */
function moduleFiles(root: string): Record<string, Buffer> {
  const dir = path.join(root, MODULE_DIR);
  return Object.fromEntries([MODULE_FILE, `${ASSETS_DIR}/consumer.zip`, `${ASSETS_DIR}/sender.zip`].map((f) => [f, readFileSync(path.join(dir, f))]));
}

function moduleJson(root: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(root, MODULE_DIR, MODULE_FILE), "utf8"));
}

/** The emulator's accommodation (see the header): one override file in the module's directory. */
function addEmulatorOverride(root: string): void {
  const functions = Object.keys(moduleJson(root).resource.aws_lambda_function);
  writeFileSync(path.join(root, MODULE_DIR, "emulator_override.tf.json"), `${JSON.stringify(loggingConfigDriftOverride(functions), null, 2)}\n`);
}

/** A root configuration: the test's main.tf (or `mainTf`) and the emulator's endpoint as a variable. */
function rootConfig(dir: string, server: MotoServer, mainTf?: string): void {
  mkdirSync(dir, { recursive: true });
  if (mainTf === undefined) copyFileSync(path.join(PROJECT_ROOT, "test", "terraform-module", "main.tf"), path.join(dir, "main.tf"));
  else writeFileSync(path.join(dir, "main.tf"), mainTf);
  writeFileSync(path.join(dir, "emulator.auto.tfvars.json"), JSON.stringify({ emulator_endpoint: server.endpoint }));
}

/** Error diagnostics of a `plan -json` that failed: each one's first paragraph. */
function errors(result: RunResult): string[] {
  return result.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type?: string; diagnostic?: { severity: string; detail: string } })
    .filter((m) => m.type === "diagnostic" && m.diagnostic?.severity === "error")
    .map((m) => m.diagnostic!.detail.split("\n\n")[0]!.replace(/\s+/g, " "));
}

/** The construct's words for an issue, with the module's names: `name = value (variable): must be …`. */
function inModuleTerms(issue: { field: string; value: unknown; allowed: string; source: string }): string {
  const props = MODULE_VARIABLES.map((v) => v.prop as string);
  const source = issue.source === "prop" ? "variable" : inModuleWords(issue.source, props).replace(/ props$/, " variables");
  return `${variableName(issue.field)} = ${JSON.stringify(issue.value)} (${source}): must be ${inModuleWords(issue.allowed, props)}`;
}

function constructIssues(props: Record<string, unknown>): { field: string; value: unknown; allowed: string; source: string }[] {
  try {
    resolvePipelineProps("team/orders", { namePrefix: "orders", consumerEntry: "process.ts", ...props } as PayloadPipelineProps, () => false);
  } catch (err) {
    assert.ok(err instanceof InvalidPipelinePropsError, String(err));
    return [...err.issues];
  }
  assert.fail(`the construct accepted ${JSON.stringify(props)}`);
}

/** HCL for a module block with these arguments (values in JSON, which HCL reads the same). */
function moduleBlock(name: string, source: string, args: Record<string, unknown>): string {
  return [`module "${name}" {`, `  source = ${JSON.stringify(source)}`, ...Object.entries(args).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`), "}", ""].join("\n");
}

describe("the generated Terraform module, called twice with for_each, through real terraform against moto_server", { skip }, () => {
  let base: string;
  let team: string;
  let root: string;
  let server: MotoServer;
  let work: TerraformWorkdir;
  let generated: string;
  let firstPlan: Promise<PlanResult>;
  /** Started while apply waits: the business-code change's root and the bad-value plans. */
  let changed: Promise<{ work: TerraformWorkdir; run: string }>;
  let badValues: Promise<RunResult>;
  let badCombinations: Promise<RunResult>;
  let plans: { second: Promise<PlanResult>; change: Promise<PlanResult> };
  let outputs: Record<string, Record<string, string | null>>;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await work;
    } finally {
      timings[name] = Math.round((Date.now() - start) / 100) / 10;
    }
  };

  before(async () => {
    base = mkdtempSync(path.join(os.tmpdir(), "terraform-module-test-"));
    team = path.join(base, "team");
    mkdirSync(team);
    writeFileSync(path.join(team, "package.json"), JSON.stringify({ name: "team-app", private: true, type: "module" }));
    writeFileSync(path.join(team, "process.ts"), CONSUMER);
    root = path.join(base, "root");
    mkdirSync(root);
    // The emulator starts while the module is generated.
    const generating = timed("generate", generate(root, team));
    generating.catch(() => {});
    server = await startMotoServer(moto);
    rootConfig(root, server);
    generated = await generating;
    addEmulatorOverride(root);
    work = new TerraformWorkdir(root, tools!, server);
  });

  after(async () => {
    await Promise.allSettled([firstPlan, changed, badValues, badCombinations, ...Object.values(plans ?? {})].filter(Boolean));
    await server?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
    if (Object.keys(timings).length > 0) console.log(`# terraform module timings (s): ${JSON.stringify(timings)}`);
  });

  test("the command writes a module with no provider or backend, a minimum provider version, and code addressed through path.module", () => {
    assert.match(generated, /written: main\.tf\.json, assets\/consumer\.zip, assets\/sender\.zip/);
    const json = moduleJson(root);
    assert.equal(json.provider, undefined, "no provider block");
    assert.deepEqual(Object.keys(json.terraform).sort(), ["required_providers", "required_version"], "no backend");
    assert.deepEqual(json.terraform.required_providers.aws, { source: "hashicorp/aws", version: ">= 5.100.0, < 7.0.0" });
    assert.ok(tools!.mirror.version.localeCompare("5.100.0", "en", { numeric: true }) >= 0, `the mirror's ${tools!.mirror.version} satisfies the minimum`);
    const functions = Object.values(json.resource.aws_lambda_function) as Record<string, any>[];
    assert.deepEqual(functions.map((f) => f.filename).sort(), ["${path.module}/assets/consumer.zip", "${path.module}/assets/sender.zip"]);
    assert.deepEqual(Object.keys(json.variable).sort(), MODULE_VARIABLES.map((v) => variableName(v.prop)).sort(), "a variable per per-instance setting");
    for (const [name, variable] of Object.entries(json.variable) as [string, Record<string, unknown>][]) {
      assert.ok(typeof variable.type === "string" && typeof variable.description === "string", `${name} is typed and described`);
    }
    assert.match(json["//"], /^Generated by lambda-s3-async-lambda \S+ with: lambda-s3-async-lambda terraform-module --consumer \.\.\/team\/process\.ts --out modules\/payload-pipeline\./);
  });

  test("init takes hashicorp/aws from the local mirror; validate passes", async () => {
    const init = await timed("init", work.init());
    assert.match(init.stdout, new RegExp(`Installing hashicorp/aws v${tools!.mirror.version.replace(/\./g, "\\.")}`));
    // Both only read the configuration, so the plan need not wait for validate.
    firstPlan = timed("plan", work.plan(["-out=create.tfplan"]));
    firstPlan.catch(() => {});
    assert.match((await timed("validate", work.run(["validate", "-no-color"]))).stdout, /Success! The configuration is valid/);
  });

  test("the first plan creates every resource of the module once per instance, and the team's own", async () => {
    const { code, changes } = await firstPlan;
    assert.equal(code, 2);
    const json = moduleJson(root);
    const moduleResources = Object.entries(json.resource as Record<string, Record<string, Record<string, unknown>>>).flatMap(([type, blocks]) =>
      Object.entries(blocks).flatMap(([name, block]): { address: string; only: string | undefined }[] => {
        const address = `${type}.${name}`;
        // Counted and for_each resources plan per instance: the orders instance has two producers
        // and access logging is off (count 0) in both.
        if (block.for_each !== undefined) return ["111122223333", "arn:aws:iam::444455556666:role/billing"].map((p) => ({ address: `${address}["${p}"]`, only: "orders" }));
        if (block.count !== undefined) return [];
        return [{ address, only: undefined }];
      }),
    );
    const expected = INSTANCES.flatMap((instance) => moduleResources.filter((r) => r.only === undefined || r.only === instance).map((r) => `module.payload_pipeline["${instance}"].${r.address}`));
    const team = ["aws_kms_key.payloads", "aws_security_group.functions", "aws_sns_topic.ops", "aws_subnet.private", "aws_vpc.main"];
    const creates = Object.keys(changes).filter((a) => changes[a] === "create");
    assert.deepEqual(creates.sort(), [...expected, ...team].sort());
    assert.ok(!Object.keys(changes).some((a) => a.startsWith("module.disabled_pipeline")), "count = 0 plans nothing");
  });

  test("apply creates both instances side by side", async () => {
    const applying = timed("apply", work.run(["apply", "-no-color", "-input=false", "create.tfplan"]));
    applying.catch(() => {});
    // While the provider waits on the emulator: the change's root and the bad-value plans.
    changed = timed("change root", prepareChange());
    badValues = timed("bad values plan", badPlan("bad-values", [moduleBlock("bad", `../root/${MODULE_DIR}`, BAD_VALUES_HCL)]));
    badCombinations = timed("bad combinations plan", badPlan("bad-combinations", [moduleBlock("bad", `../root/${MODULE_DIR}`, BAD_COMBINATIONS_HCL)]));
    for (const p of [changed, badValues, badCombinations]) p.catch(() => {});
    await applying;
    outputs = (JSON.parse((await work.run(["output", "-json"])).stdout) as { pipelines: { value: typeof outputs } }).pipelines.value;
    const { work: changeWork } = await changed;
    copyFileSync(path.join(root, "terraform.tfstate"), path.join(changeWork.dir, "terraform.tfstate"));
    // Plans only read the state; the change's is not refreshed: it shows what the change does.
    plans = {
      second: timed("second plan", work.plan(["-lock=false"])),
      change: timed("change plan", changeWork.plan(["-lock=false", "-refresh=false"])),
    };
    for (const p of Object.values(plans)) p.catch(() => {});
    assert.deepEqual(Object.keys(outputs).sort(), INSTANCES);
  });

  test("each instance has its own names and settings, as the emulator holds them", async () => {
    const aws = { endpoint: server.endpoint, region: REGION, credentials: { accessKeyId: "test", secretAccessKey: "test" } };
    const lambda = new LambdaClient(aws);
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    for (const instance of INSTANCES) {
      const out = outputs[instance]!;
      assert.equal(out.consumer_function_name, `${instance}-consumer`);
      assert.equal(out.sender_function_name, `${instance}-sender`);
      assert.equal(out.idempotency_table_name, `${instance}-consumer-idempotency`);
      assert.ok(out.bucket_name!.startsWith(`${instance}-payloads-`), out.bucket_name!);
      assert.ok(out.failure_bucket_name!.startsWith(`${instance}-failures-`), out.failure_bucket_name!);
    }
    const orders = outputs.orders!;
    const invoices = outputs.invoices!;

    const config = (name: string) => lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const [ordersConsumer, invoicesConsumer] = await Promise.all([config("orders-consumer"), config("invoices-consumer")]);
    assert.deepEqual([ordersConsumer.MemorySize, invoicesConsumer.MemorySize], [1024, 512], "null gives the default");
    assert.equal(ordersConsumer.TracingConfig?.Mode, "Active");
    assert.equal(invoicesConsumer.TracingConfig?.Mode, "PassThrough");
    assert.equal(ordersConsumer.VpcConfig?.SubnetIds?.length, 1, "orders runs in the team's subnet");
    assert.deepEqual(invoicesConsumer.VpcConfig?.SubnetIds ?? [], [], "invoices is not in a VPC");
    const concurrency = async (name: string) => (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;
    assert.deepEqual([await concurrency("orders-consumer"), await concurrency("invoices-consumer")], [5, undefined]);
    const tags = async (fn: typeof ordersConsumer) => (await lambda.send(new ListTagsCommand({ Resource: fn.FunctionArn! }))).Tags;
    assert.deepEqual(await tags(ordersConsumer), { owner: "payments-platform", pipeline: "orders" }, "the module's tags beside the provider's default_tags");
    assert.deepEqual(await tags(invoicesConsumer), { owner: "payments-platform" }, "no tags of the module's: the provider's default_tags");

    const sse = async (bucket: string) =>
      (await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm;
    assert.deepEqual([await sse(orders.bucket_name!), await sse(invoices.bucket_name!)], ["aws:kms", "AES256"]);

    const principals = async (fn: string) =>
      (JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName: fn }))).Policy!).Statement as { Principal: unknown }[]).map((s) => JSON.stringify(s.Principal)).sort();
    assert.deepEqual(await principals("orders-consumer"), ['"111122223333"', '"arn:aws:iam::444455556666:role/billing"', '{"Service":"s3.amazonaws.com"}'].sort());
    assert.deepEqual(await principals("invoices-consumer"), ['{"Service":"s3.amazonaws.com"}']);
    const bucketPolicy = async (bucket: string) => JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!).Statement as Record<string, any>[];
    const producersStatement = (await bucketPolicy(orders.bucket_name!)).find((s) => s.Sid === "ProducersWritePayloads");
    assert.deepEqual([producersStatement?.Principal.AWS].flat().sort(), ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:role/billing"]);
    assert.deepEqual((await bucketPolicy(invoices.bucket_name!)).map((s) => s.Sid), ["DenyInsecureTransport"]);

    assert.ok(orders.alarm_topic_arn?.endsWith(":ops-alarms"), String(orders.alarm_topic_arn));
    assert.equal(invoices.alarm_topic_arn, null);
    const policy = (out: Record<string, string | null>) => JSON.parse(out.producer_policy_json!).Statement.map((s: { Sid: string }) => s.Sid).sort();
    assert.deepEqual(policy(orders), ["InvokeConsumer", "UsePayloadKey", "WritePayloads"]);
    assert.deepEqual(policy(invoices), ["InvokeConsumer", "WritePayloads"]);
  });

  test("a second plan has no changes", async () => {
    const { code, changes } = await plans.second;
    assert.deepEqual(changes, {});
    assert.equal(code, 0);
  });

  test("a business-code change rewrites the consumer's zip and hash only, and plans as exactly one update per instance: the consumer function", async () => {
    const { work: changeWork, run: changedRun } = await changed;
    assert.match(changedRun, /written: main\.tf\.json, assets\/consumer\.zip\n\s+unchanged: assets\/sender\.zip/);
    // Everything else the command wrote again is byte for byte what was applied.
    const [before, after] = [moduleFiles(root), moduleFiles(changeWork.dir)];
    assert.ok(after["assets/sender.zip"]!.equals(before["assets/sender.zip"]!));
    const hashOf = (json: Buffer) => (Object.values(JSON.parse(json.toString("utf8")).resource.aws_lambda_function) as { filename: string; source_code_hash: string }[]).find((f) => f.filename.endsWith("consumer.zip"))!.source_code_hash;
    const [oldHash, newHash] = [hashOf(before[MODULE_FILE]!), hashOf(after[MODULE_FILE]!)];
    assert.notEqual(oldHash, newHash);
    assert.equal(after[MODULE_FILE]!.toString("utf8"), before[MODULE_FILE]!.toString("utf8").replace(oldHash, newHash), "the module file differs by the consumer's hash alone");
    const { code, changes } = await plans.change;
    assert.equal(code, 2);
    const consumer = Object.keys(moduleJson(root).resource.aws_lambda_function).find((n) => n.startsWith("consumer_"))!;
    assert.deepEqual(changes, Object.fromEntries(INSTANCES.map((i) => [`module.payload_pipeline["${i}"].aws_lambda_function.${consumer}`, "update"])));
  });

  test("bad values fail terraform plan with the construct's words for the same values", async () => {
    const result = await badValues;
    assert.equal(result.code, 1);
    const expected = constructIssues(BAD_VALUES).map(inModuleTerms);
    assert.equal(expected.length, Object.keys(BAD_VALUES).length - 1, "one issue per bad value (the subnets' partner is fine)");
    assert.deepEqual(errors(result).sort(), expected.sort());
  });

  test("bad combinations fail terraform plan with the construct's words, the VPC pair included", async () => {
    const result = await badCombinations;
    assert.equal(result.code, 1);
    const { subnetIds: _, securityGroupIds: __, ...constraintsOnly } = BAD_COMBINATIONS;
    const expected = constructIssues(constraintsOnly).map(inModuleTerms);
    assert.equal(expected.length, 3);
    // The pair: the construct names a missing prop (undefined); the module an empty list.
    const [pair] = constructIssues({ subnetIds: BAD_COMBINATIONS.subnetIds });
    expected.push(inModuleTerms({ ...pair!, value: [], source: settingsPhrase(["subnetIds", "securityGroupIds"], "props") }));
    assert.deepEqual(errors(result).sort(), expected.sort());
  });

  test("destroy removes both instances and the team's resources", async () => {
    await Promise.allSettled(Object.values(plans));
    await timed("destroy", work.run(["destroy", "-no-color", "-input=false", "-auto-approve", "-refresh=false"]));
    assert.equal((await work.run(["state", "list"])).stdout.trim(), "", "the state holds nothing");
  });

  /**
   * Another root with the same main.tf and a copy of the applied module, regenerated after the team
   * edited its consumer; initialized, ready for the applied state.
   */
  async function prepareChange(): Promise<{ work: TerraformWorkdir; run: string }> {
    const dir = path.join(base, "change");
    rootConfig(dir, server);
    cpSync(path.join(root, MODULE_DIR), path.join(dir, MODULE_DIR), { recursive: true });
    appendFileSync(path.join(team, "process.ts"), 'console.debug("a business-code change");\n');
    const changedRun = await generate(dir, team);
    const changeWork = new TerraformWorkdir(dir, tools!, server);
    await changeWork.init();
    return { work: changeWork, run: changedRun };
  }

  async function badPlan(name: string, blocks: string[]): Promise<RunResult> {
    const dir = path.join(base, name);
    const main = readFileSync(path.join(PROJECT_ROOT, "test", "terraform-module", "main.tf"), "utf8");
    // The team's provider and variable, with only the bad module call.
    const providerPart = main.slice(0, main.indexOf("# What the team already has"));
    rootConfig(dir, server, `${providerPart}\n${blocks.join("\n")}`);
    const w = new TerraformWorkdir(dir, tools!, server);
    await w.init();
    return w.run(["plan", "-json", "-input=false", "-lock=false"], [1]);
  }
});

/** One bad value per variable the construct checks, each as the construct reports it. */
const BAD_VALUES = {
  namePrefix: "Orders_Team",
  kmsKeyArn: "alias/payloads",
  payloadPrefix: "/payloads/",
  accessLogsBucketName: "Logs..x",
  inlineLimitBytes: 2_000_000,
  architecture: "sparc",
  memorySize: 64,
  consumerReservedConcurrency: 0,
  logRetentionDays: 10,
  logKmsKeyArn: "alias/logs",
  permissionsBoundaryArn: "team-boundary",
  rolePath: "teams",
  subnetIds: ["subnet-1"],
  securityGroupIds: ["sg-0a1b2c3d4e5f60718"],
  codeSigningConfigArn: "csc-1",
  tags: { "aws:team": "x" },
  alarmTopicArn: "ops",
  producers: ["billing"],
};
const BAD_VALUES_HCL = Object.fromEntries(Object.entries(BAD_VALUES).map(([k, v]) => [variableName(k), v]));

/** Values each fine alone, wrong together. */
const BAD_COMBINATIONS = {
  payloadExpirationDays: 14,
  idempotencyExpiresAfterSeconds: 3600,
  timeout: 3,
  sdkRequestTimeoutMs: 3000,
  subnetIds: ["subnet-0a1b2c3d4e5f60718"],
  securityGroupIds: [] as string[],
};
const BAD_COMBINATIONS_HCL = {
  name_prefix: "orders",
  ...Object.fromEntries(Object.entries(BAD_COMBINATIONS).map(([k, v]) => [variableName(k), v])),
};
