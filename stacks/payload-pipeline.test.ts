/**
 * The construct on its own, embedded in stacks made here: every security setting lands where a
 * reviewer (or checkov) looks for it, with exactly the IAM it needs; bad props are refused by
 * name; two pipelines live side by side in one stack; tokens pass through unchecked.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { TerraformStack, Testing } from "cdktf";
import { BundleEntryError } from "../bundling/bundle.ts";
import { TRACING_ACTIONS, VPC_ACTIONS } from "./nodejs-function.ts";
import { InvalidPipelinePropsError, PayloadPipeline, PIPELINE_DEFAULTS, type PayloadPipelineProps } from "./payload-pipeline.ts";
import { resolvePipelineProps } from "./payload-pipeline-props.ts";
import { REFERENCE_CONSUMER } from "./pipeline-stack.ts";
import { TfJson } from "./test-support.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "payload-pipeline-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const BOUNDARY = "arn:aws:iam::111122223333:policy/team-boundary";
const KEY = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

function stackWith(build: (stack: TerraformStack) => void, region: string | null = "eu-central-1"): TfJson {
  const stack = new TerraformStack(Testing.app({ outdir: tmp }), "team");
  new AwsProvider(stack, "aws", region === null ? {} : { region });
  build(stack);
  return new TfJson(Testing.synth(stack));
}

function synth(props: Partial<PayloadPipelineProps> = {}): TfJson {
  return stackWith((stack) => new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER, ...props }));
}

type Block = Record<string, any>;
const functions = (t: TfJson) => Object.values(t.all("aws_lambda_function")) as Block[];
const roles = (t: TfJson) => Object.values(t.all("aws_iam_role")) as Block[];
const statements = (t: TfJson) => Object.values(t.all("aws_iam_policy_document", "data")).flatMap((d) => (d as Block).statement as Block[]);
const rolePolicyStatements = (t: TfJson, fn: Block) => {
  const role = t.deref(fn.role).name;
  const policy = Object.values(t.all("aws_iam_role_policy")).find((p) => (p as Block).role === `\${aws_iam_role.${role}.id}`) as Block;
  return t.deref(policy.policy).block.statement as Block[];
};

describe("defaults", () => {
  const t = synth();

  test("names come from the prefix: functions, table, generated bucket names", () => {
    assert.deepEqual(functions(t).map((f) => f.function_name).sort(), ["orders-consumer", "orders-sender"]);
    assert.equal((Object.values(t.all("aws_dynamodb_table"))[0] as Block).name, "orders-consumer-idempotency");
    assert.deepEqual(Object.values(t.all("aws_s3_bucket")).map((b) => (b as Block).bucket_prefix).sort(), ["orders-failures-", "orders-payloads-"]);
  });

  test("no tracing, VPC, reserved concurrency, code signing, boundary, log key, access logging or versioning unless asked", () => {
    for (const f of functions(t)) {
      for (const key of ["tracing_config", "vpc_config", "reserved_concurrent_executions", "code_signing_config_arn"]) assert.equal(f[key], undefined, key);
    }
    for (const r of roles(t)) assert.deepEqual([r.permissions_boundary, r.path], [undefined, undefined]);
    for (const g of Object.values(t.all("aws_cloudwatch_log_group"))) assert.equal((g as Block).kms_key_id, undefined);
    assert.deepEqual([t.all("aws_s3_bucket_logging"), t.all("aws_s3_bucket_versioning"), t.all("aws_lambda_permission")].map((x) => Object.keys(x).length), [0, 0, 1]);
  });

  test("the consumer's ARN in the sender's policy uses the provider's region as written, with no data source", () => {
    assert.deepEqual(t.all("aws_region", "data"), {});
    const sender = functions(t).find((f) => f.function_name === "orders-sender")!;
    const invoke = rolePolicyStatements(t, sender).find((s) => s.sid === "InvokeConsumer")!;
    assert.match(invoke.resources[0], /^arn:\$\{data\.aws_partition\.[^}]+\}:lambda:eu-central-1:\$\{data\.aws_caller_identity\.[^}]+\}:function:orders-consumer$/);
  });

  test("without a literal provider region it reads the region with aws_region", () => {
    const noRegion = stackWith((stack) => new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER }), null);
    const [name] = Object.keys(noRegion.all("aws_region", "data"));
    assert.ok(name, "an aws_region data source");
    const sender = functions(noRegion).find((f) => f.function_name === "orders-sender")!;
    assert.ok(rolePolicyStatements(noRegion, sender).find((s) => s.sid === "InvokeConsumer")!.resources[0].includes(`\${data.aws_region.${name}.id}`));
  });
});

describe("security settings", () => {
  const t = synth({
    permissionsBoundaryArn: BOUNDARY,
    rolePath: "/teams/orders/",
    tracing: true,
    consumerReservedConcurrency: 5,
    subnetIds: ["subnet-0a1b2c3d4e5f60718"],
    securityGroupIds: ["sg-0a1b2c3d4e5f60718"],
    codeSigningConfigArn: "arn:aws:lambda:eu-central-1:111122223333:code-signing-config:csc-0a1b2c3d4e5f60718",
    kmsKeyArn: KEY,
    logKmsKeyArn: KEY,
    logRetentionDays: 365,
    accessLogsBucketName: "acme-access-logs",
    failureBucketVersioning: true,
    tags: { team: "orders", "cost-center": "42" },
  });

  test("roles: permissions boundary and path on both", () => {
    for (const r of roles(t)) assert.deepEqual([r.permissions_boundary, r.path], [BOUNDARY, "/teams/orders/"]);
  });

  test("tracing: Active on both functions, and each role may send traces (X-Ray has no resource-level permissions)", () => {
    for (const f of functions(t)) {
      assert.deepEqual(f.tracing_config, { mode: "Active" });
      assert.deepEqual(rolePolicyStatements(t, f).find((s) => s.sid === "SendTraces"), { sid: "SendTraces", effect: "Allow", actions: [...TRACING_ACTIONS], resources: ["*"] });
    }
  });

  test("VPC: subnets and security groups on both functions, and the network-interface actions Lambda needs", () => {
    for (const f of functions(t)) {
      assert.deepEqual(f.vpc_config, { subnet_ids: ["subnet-0a1b2c3d4e5f60718"], security_group_ids: ["sg-0a1b2c3d4e5f60718"] });
      assert.deepEqual(rolePolicyStatements(t, f).find((s) => s.sid === "ManageNetworkInterfaces")?.actions, [...VPC_ACTIONS]);
    }
  });

  test("reserved concurrency on the consumer only; code signing on both", () => {
    const byName = Object.fromEntries(functions(t).map((f) => [f.function_name, f]));
    assert.equal(byName["orders-consumer"]!.reserved_concurrent_executions, 5);
    assert.equal(byName["orders-sender"]!.reserved_concurrent_executions, undefined);
    for (const f of functions(t)) assert.match(f.code_signing_config_arn, /code-signing-config:csc-/);
  });

  test("log groups: retention and KMS key", () => {
    for (const g of Object.values(t.all("aws_cloudwatch_log_group")) as Block[]) assert.deepEqual([g.retention_in_days, g.kms_key_id], [365, KEY]);
  });

  test("access logs of both buckets go to the target bucket, each under its own prefix", () => {
    const logging = Object.values(t.all("aws_s3_bucket_logging")) as Block[];
    assert.deepEqual(logging.map((l) => [l.target_bucket, l.target_prefix]).sort(), [
      ["acme-access-logs", "s3-access-logs/failure-records/"],
      ["acme-access-logs", "s3-access-logs/payloads/"],
    ]);
  });

  test("failure-record versioning: enabled, with noncurrent versions expiring with the records", () => {
    const versioning = Object.values(t.all("aws_s3_bucket_versioning")) as Block[];
    assert.equal(versioning.length, 1);
    assert.deepEqual(versioning[0]!.versioning_configuration, { status: "Enabled" });
    const lifecycle = t.within("orders_failure_records", "aws_s3_bucket_lifecycle_configuration").block;
    assert.deepEqual((lifecycle.rule as Block[])[0]!.noncurrent_version_expiration, [{ noncurrent_days: 14 }]);
    assert.equal((lifecycle.depends_on as unknown[] | undefined)?.length, 1, "after versioning is on");
  });

  test("tags on every resource that takes them, keeping each resource's own", () => {
    const taggable = ["aws_s3_bucket", "aws_lambda_function", "aws_iam_role", "aws_cloudwatch_log_group", "aws_dynamodb_table", "aws_cloudwatch_metric_alarm"];
    for (const type of taggable) {
      for (const [name, block] of Object.entries(t.all(type)) as [string, Block][]) assert.deepEqual(block.tags, { team: "orders", "cost-center": "42" }, `${type}.${name}`);
    }
  });

  test("KMS: both buckets encrypt with the key; the functions may use it for exactly what they do", () => {
    const consumer = functions(t).find((f) => f.function_name === "orders-consumer")!;
    const sender = functions(t).find((f) => f.function_name === "orders-sender")!;
    const kms = (fn: Block) => rolePolicyStatements(t, fn).filter((s) => s.resources.includes(KEY)).map((s) => s.actions).flat().sort();
    assert.deepEqual(kms(consumer), ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert.deepEqual(kms(sender), ["kms:GenerateDataKey"]);
  });

  test("the only grants on \"*\" are the tracing and VPC ones", () => {
    const starred = statements(t).filter((s) => s.effect === "Allow" && s.resources?.includes("*")).map((s) => s.sid);
    assert.deepEqual([...new Set(starred)].sort(), ["ManageNetworkInterfaces", "SendTraces"]);
  });
});

describe("producers", () => {
  test("each gets a Lambda permission named after it and a place in the bucket policy; accounts become root ARNs", () => {
    const t = synth({ producers: ["arn:aws:iam::111122223333:role/billing", "444455556666"] });
    const permissions = Object.values(t.all("aws_lambda_permission")) as Block[];
    const producers = permissions.filter((p) => p.principal !== "s3.amazonaws.com");
    assert.deepEqual(producers.map((p) => [p.principal, p.action]).sort(), [["444455556666", "lambda:InvokeFunction"], ["arn:aws:iam::111122223333:role/billing", "lambda:InvokeFunction"]]);
    assert.ok(producers.every((p) => /^AllowProducer-[0-9a-f]{12}$/.test(p.statement_id)));
    const statement = statements(t).find((s) => s.sid === "ProducersWritePayloads")!;
    assert.deepEqual(statement.actions, ["s3:AbortMultipartUpload", "s3:PutObject"]);
    assert.equal(statement.principals[0].identifiers[1], `arn:\${data.aws_partition.${Object.keys(t.all("aws_partition", "data"))[0]}.partition}:iam::444455556666:root`);
    assert.match(statement.resources[0], /\.arn\}\/payloads\/\*$/);
    // Removing one producer leaves the other's permission untouched.
    const one = Object.keys(synth({ producers: ["444455556666"] }).all("aws_lambda_permission"));
    assert.ok(one.every((name) => Object.keys(t.all("aws_lambda_permission")).includes(name)));
  });

  test("grantSend gives a role of the stack exactly what both routes need, KMS included", () => {
    const t = stackWith((stack) => {
      const pipeline = new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER, kmsKeyArn: KEY });
      pipeline.grantSend(new IamRole(stack, "api", { name: "api", assumeRolePolicy: "{}" }));
    });
    const policy = Object.values(t.all("aws_iam_role_policy")).find((p) => (p as Block).role === "${aws_iam_role.api.id}") as Block;
    const granted = (t.deref(policy.policy).block.statement as Block[]).map((s) => [s.sid, s.actions]);
    assert.deepEqual(granted, [
      ["InvokeConsumer", ["lambda:InvokeFunction"]],
      ["WritePayloads", ["s3:AbortMultipartUpload", "s3:PutObject"]],
      ["UsePayloadKey", ["kms:Decrypt", "kms:GenerateDataKey"]],
    ]);
  });
});

describe("embedding", () => {
  test("two pipelines in one stack with different prefixes share nothing", () => {
    const t = stackWith((stack) => {
      new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER });
      new PayloadPipeline(stack, "invoices", { namePrefix: "invoices", consumerEntry: REFERENCE_CONSUMER, sender: false });
    });
    assert.deepEqual(functions(t).map((f) => f.function_name).sort(), ["invoices-consumer", "orders-consumer", "orders-sender"]);
    assert.equal(Object.keys(t.all("aws_s3_bucket")).length, 4);
    assert.equal(Object.keys(t.all("aws_s3_bucket_notification")).length, 2);
  });

  test("references from the team's stack pass through unchecked, for Terraform to resolve", () => {
    const t = stackWith((stack) => {
      const topic = new SnsTopic(stack, "ops", { name: "ops" });
      new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER, alarmTopicArn: topic.arn });
    });
    const alarm = Object.values(t.all("aws_cloudwatch_metric_alarm"))[0] as Block;
    assert.deepEqual(alarm.alarm_actions, ["${aws_sns_topic.ops.arn}"]);
  });

  test("an entry that does not export handler stops synthesis, naming the file and what it exports", () => {
    const entry = path.join(tmp, "wrong.ts");
    writeFileSync(entry, "export async function processPayload() {}\n");
    assert.throws(() => synth({ consumerEntry: entry }), (err: Error) => err instanceof BundleEntryError && err.message.includes(`${entry} does not export "handler" (it exports: processPayload)`));
  });
});

describe("validation", () => {
  const refused = (props: Record<string, unknown>) => {
    try {
      synth(props as Partial<PayloadPipelineProps>);
    } catch (err) {
      assert.ok(err instanceof InvalidPipelinePropsError, String(err));
      return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(props)}`);
  };

  const cases: [string, Record<string, unknown>, string][] = [
    ["namePrefix", { namePrefix: "Orders_Team" }, 'namePrefix = "Orders_Team" (prop): must be 2 to 24 characters: a lowercase letter'],
    ["permissionsBoundaryArn", { permissionsBoundaryArn: "team-boundary" }, 'permissionsBoundaryArn = "team-boundary" (prop): must be an IAM policy ARN'],
    ["rolePath", { rolePath: "teams" }, 'rolePath = "teams" (prop): must be an IAM path'],
    ["tracing", { tracing: "yes" }, 'tracing = "yes" (prop): must be true or false'],
    ["consumerReservedConcurrency", { consumerReservedConcurrency: 0 }, "consumerReservedConcurrency = 0 (prop): must be an integer from 1 to 1000000"],
    ["subnetIds", { subnetIds: ["subnet-1"], securityGroupIds: ["sg-0a1b2c3d4e5f60718"] }, 'subnetIds = ["subnet-1"] (prop): must be a list of 1 to 16 subnet ids'],
    ["securityGroupIds alone", { subnetIds: ["subnet-0a1b2c3d4e5f60718"] }, "securityGroupIds = undefined (props subnetIds and securityGroupIds): must be set together with subnetIds"],
    ["codeSigningConfigArn", { codeSigningConfigArn: "csc-1" }, 'codeSigningConfigArn = "csc-1" (prop): must be a code signing config ARN'],
    ["kmsKeyArn", { kmsKeyArn: "alias/payloads" }, 'kmsKeyArn = "alias/payloads" (prop): must be a KMS key ARN'],
    ["logKmsKeyArn", { logKmsKeyArn: "alias/logs" }, 'logKmsKeyArn = "alias/logs" (prop): must be a KMS key ARN'],
    ["logRetentionDays", { logRetentionDays: 10 }, "logRetentionDays = 10 (prop): must be one of 0, 1, 3, 5, 7, 14"],
    ["accessLogsBucketName", { accessLogsBucketName: "Logs" }, 'accessLogsBucketName = "Logs" (prop): must be a valid S3 bucket name: only lowercase letters'],
    ["failureBucketVersioning", { failureBucketVersioning: 1 }, "failureBucketVersioning = 1 (prop): must be true or false"],
    ["tags", { tags: { "aws:team": "x" } }, 'tags = {"aws:team":"x"} (prop): must be a JSON object of at most 50 tags'],
    ["alarmTopicArn", { alarmTopicArn: "ops" }, 'alarmTopicArn = "ops" (prop): must be an SNS topic ARN'],
    ["producers", { producers: ["billing"] }, 'producers = ["billing"] (prop): must be a list of at most 50 producers, each an account id'],
    ["unknown prop", { tracingMode: "Active" }, 'tracingMode = "Active" (prop): must be a known prop (not "tracingMode")'],
    ["expirations", { payloadExpirationDays: 14 }, "payloadExpirationDays = 14 (the payloadExpirationDays and failureRecordExpirationDays props): must be more than failureRecordExpirationDays (14)"],
    ["sdk timeouts", { timeout: 3, sdkRequestTimeoutMs: 3000 }, "sdkRequestTimeoutMs = 3000 (the sdkConnectionTimeoutMs, sdkRequestTimeoutMs and timeout props): must be small enough"],
  ];
  for (const [name, props, message] of cases) {
    test(`${name}: refused by name, with what is allowed`, () => {
      const text = refused(props);
      assert.ok(text.includes('Invalid props for PayloadPipeline "team/orders":'), text);
      assert.ok(text.includes(message), `expected "${message}" in:\n${text}`);
    });
  }

  test("every bad prop is reported at once", () => {
    const text = refused({ tracing: "yes", rolePath: "x", memorySize: 64 });
    assert.equal(text.split("\n  - ").length - 1, 3, text);
  });
});

test("docs/construct.md documents every prop the construct accepts", async () => {
  const { readFileSync } = await import("node:fs");
  const { PROJECT_ROOT } = await import("../bundling/bundle.ts");
  const page = readFileSync(path.join(PROJECT_ROOT, "docs", "construct.md"), "utf8");
  const documented = new Set([...page.matchAll(/^\| `([A-Za-z0-9]+)`(?: \/ `([A-Za-z0-9]+)`|, `([A-Za-z0-9]+)`)? \|/gm)].flatMap((m) => [m[1], m[2], m[3]]).filter(Boolean));
  const accepted = Object.keys(PIPELINE_DEFAULTS).concat(["namePrefix", "consumerEntry", "consumerFunctionName", "senderFunctionName", "bucketName", "bucketPrefix", "failureBucketName", "failureBucketPrefix", "kmsKeyArn", "accessLogsBucketName", "consumerReservedConcurrency", "logKmsKeyArn", "permissionsBoundaryArn", "subnetIds", "securityGroupIds", "codeSigningConfigArn", "alarmTopicArn", "sdkConnectionTimeoutMs", "sdkRequestTimeoutMs"]);
  assert.deepEqual(accepted.filter((p) => !documented.has(p)).sort(), []);
  // And every one of those is a prop the construct knows: an unknown one would be refused.
  for (const prop of accepted.filter((p) => p !== "namePrefix" && p !== "consumerEntry")) assert.doesNotThrow(() => resolvePipelineProps("t", { namePrefix: "orders", consumerEntry: "x.ts", [prop]: undefined } as PayloadPipelineProps, () => false), prop);
});
