/**
 * The module generator without Terraform: what the module file holds for each shape of flags,
 * that its variables are the documented ones with the construct's defaults, and how the construct
 * treats Terraform tokens (variables) in props. test/terraform-module.test.ts runs the module
 * through real Terraform.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { Fn, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { MODULE_VARIABLES, variableName } from "./module-variables.ts";
import { InvalidPipelinePropsError, PayloadPipeline, PIPELINE_DEFAULTS } from "./payload-pipeline.ts";
import { REFERENCE_CONSUMER } from "./pipeline-stack.ts";
import { assetPath, MODULE_FILE, synthesizeTerraformModule, type TerraformModuleOptions } from "./terraform-module.ts";
import { TfJson } from "./test-support.ts";

type Block = Record<string, any>;
const moduleOf = (options: Partial<TerraformModuleOptions> = {}) => {
  const files = synthesizeTerraformModule({ consumerEntry: REFERENCE_CONSUMER, ...options });
  return { files, json: JSON.parse(files.get(MODULE_FILE)!.toString("utf8")) as Block };
};

describe("the module file", () => {
  const { files, json } = moduleOf();

  test("variables, data sources, resources and outputs; no provider, no backend; Terraform and provider minimums", () => {
    assert.deepEqual(Object.keys(json).sort(), ["//", "data", "output", "resource", "terraform", "variable"]);
    assert.deepEqual(json.terraform, { required_providers: { aws: { source: "hashicorp/aws", version: ">= 5.100.0, < 7.0.0" } }, required_version: ">= 1.9.0" });
    assert.ok(!JSON.stringify(json).includes('"//": {'), "no cdktf metadata");
  });

  test("both zips are there, and each function's code is its zip beside the module", () => {
    assert.deepEqual([...files.keys()], [MODULE_FILE, assetPath("consumer"), assetPath("sender")]);
    const fns = Object.values(json.resource.aws_lambda_function) as Block[];
    assert.deepEqual(fns.map((f) => f.filename).sort(), ["${path.module}/assets/consumer.zip", "${path.module}/assets/sender.zip"]);
  });

  test("each prop that varies per instance is a variable: typed, described, with the construct's default", () => {
    for (const v of MODULE_VARIABLES) {
      const declared = json.variable[variableName(v.prop)] as Block;
      assert.ok(declared, variableName(v.prop));
      assert.equal(declared.type, v.type);
      assert.ok(declared.description.length > 10);
      if (v.default === undefined) assert.ok(!("default" in declared), `${v.prop} is required`);
      else if (v.prop in PIPELINE_DEFAULTS) assert.deepEqual(declared.default, PIPELINE_DEFAULTS[v.prop as keyof typeof PIPELINE_DEFAULTS], v.prop);
      else if (v.emptyMeansUnset) assert.deepEqual(declared.default, [], `${v.prop}: empty, so unset`);
      else assert.equal(declared.default, null, `${v.prop}: unset unless given`);
    }
  });

  test("settings JavaScript decided are Terraform expressions of the variables", () => {
    const consumer = (Object.values(json.resource.aws_lambda_function) as Block[]).find((f) => f.filename.endsWith("consumer.zip"))!;
    assert.equal(consumer.function_name, "${var.name_prefix}-consumer");
    assert.deepEqual(consumer.tracing_config, { mode: '${var.tracing ? "Active" : "PassThrough"}' });
    assert.equal(consumer.reserved_concurrent_executions, "${var.consumer_reserved_concurrency}");
    assert.equal(consumer.dynamic.vpc_config.for_each, "${(length(var.subnet_ids) > 0) ? [1] : []}");
    assert.equal(consumer.environment.variables.SDK_REQUEST_TIMEOUT_MS, "${coalesce(var.sdk_request_timeout_ms, min(5000, floor(var.timeout * 1000 / 5)))}");
    const producers = Object.values(json.resource.aws_lambda_permission).find((p) => (p as Block).for_each !== undefined) as Block;
    assert.equal(producers.for_each, "${toset(var.producers)}");
    assert.equal(producers.statement_id, '${format("AllowProducer-%s", substr(sha256(each.value), 0, 12))}');
    const conditional = Object.values(json.data.aws_iam_policy_document).flatMap((d) => ((d as Block).dynamic?.statement ?? []) as Block[]);
    assert.deepEqual([...new Set(conditional.map((s) => `${s.content.sid}: ${s.for_each}`))].sort(), [
      "DecryptPayloads: ${(var.kms_key_arn != null) ? [1] : []}",
      "EncryptFailureRecords: ${(var.kms_key_arn != null) ? [1] : []}",
      "EncryptPayloads: ${(var.kms_key_arn != null) ? [1] : []}",
      "ManageNetworkInterfaces: ${(length(var.subnet_ids) > 0) ? [1] : []}",
      "ProducersWritePayloads: ${(length(var.producers) > 0) ? [1] : []}",
      "SendTraces: ${var.tracing ? [1] : []}",
      "UsePayloadKey: ${(var.kms_key_arn != null) ? [1] : []}",
    ]);
  });

  test("every variable and output is in docs/terraform-module.md, with its default", () => {
    const page = readFileSync(path.join(PROJECT_ROOT, "docs", "terraform-module.md"), "utf8");
    const rows = new Map([...page.matchAll(/^\| `([a-z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    for (const [name, declared] of Object.entries(json.variable) as [string, Block][]) {
      assert.ok(rows.has(name), `${name} is documented`);
      const shown = !("default" in declared) ? "required" : declared.default === null ? "`null`" : `\`${JSON.stringify(declared.default)}\``;
      assert.equal(rows.get(name), shown, `${name}'s default`);
    }
    for (const name of Object.keys(json.output)) assert.ok(rows.has(name) || page.includes(`\`${name}\``), `output ${name} is documented`);
  });
});

describe("flags", () => {
  test("--no-sender: no sender function, zip or outputs", () => {
    const { files, json } = moduleOf({ sender: false });
    assert.deepEqual([...files.keys()], [MODULE_FILE, assetPath("consumer")]);
    assert.equal(Object.keys(json.resource.aws_lambda_function).length, 1);
    assert.ok(!("sender_function_name" in json.output));
  });

  test("--no-alarms: no alarms, and no variables for them; --create-alarm-topic: a topic instead of alarm_topic_arn", () => {
    const none = moduleOf({ alarms: false }).json;
    assert.equal(none.resource.aws_cloudwatch_metric_alarm, undefined);
    assert.ok(!("alarm_topic_arn" in none.variable) && !("alarm_event_age_seconds" in none.variable));
    const created = moduleOf({ createAlarmTopic: true }).json;
    assert.equal(Object.keys(created.resource.aws_sns_topic).length, 1);
    assert.ok(!("alarm_topic_arn" in created.variable));
    assert.match(created.output.alarm_topic_arn.value, /^\$\{aws_sns_topic\./);
  });

  test("--runtime nodejs24.x: built for node24, and a provider that knows the runtime", () => {
    const { json } = moduleOf({ runtime: "nodejs24.x" });
    assert.equal(json.terraform.required_providers.aws.version, ">= 6.25.0, < 7.0.0");
    for (const f of Object.values(json.resource.aws_lambda_function) as Block[]) assert.equal(f.runtime, "nodejs24.x");
  });
});

describe("the construct with Terraform variables as props", () => {
  const stackWith = (props: Record<string, (stack: TerraformStack) => unknown>) => {
    const stack = new TerraformStack(Testing.app(), "team");
    new AwsProvider(stack, "aws", { region: "eu-central-1" });
    const values = Object.fromEntries(Object.entries(props).map(([k, make]) => [k, make(stack)]));
    new PayloadPipeline(stack, "orders", { namePrefix: "orders", consumerEntry: REFERENCE_CONSUMER, ...values });
    return new TfJson(Testing.synth(stack));
  };

  test("an optional ARN given as a variable may be null: SSE-S3 then, and KMS statements only when it is set", () => {
    const t = stackWith({ kmsKeyArn: (s) => new TerraformVariable(s, "key", { type: "string" }).stringValue });
    const encryption = Object.values(t.all("aws_s3_bucket_server_side_encryption_configuration"))[0] as Block;
    assert.deepEqual(encryption.rule[0], {
      apply_server_side_encryption_by_default: { kms_master_key_id: "${var.key}", sse_algorithm: '${var.key == null ? "AES256" : "aws:kms"}' },
      bucket_key_enabled: "${var.key != null}",
    });
  });

  test("a resource reference is always set, so it is used as it is", () => {
    const t = stackWith({ kmsKeyArn: (s) => Fn.element(new TerraformVariable(s, "keys", { type: "list(string)" }).listValue, 0) });
    const encryption = Object.values(t.all("aws_s3_bucket_server_side_encryption_configuration"))[0] as Block;
    assert.equal(encryption.rule[0].apply_server_side_encryption_by_default.sse_algorithm, "aws:kms");
  });

  for (const prop of ["runtime", "sender", "alarms", "createAlarmTopic", "failureBucketVersioning"]) {
    test(`${prop} cannot be a token: it decides which resources exist or what the bundles are built for`, () => {
      assert.throws(
        () => stackWith({ [prop]: (s) => new TerraformVariable(s, "v", {}).value }),
        (err: Error) => err instanceof InvalidPipelinePropsError && err.message.includes(`${prop} = `) && err.message.includes("must be a plain value, not a Terraform reference"),
      );
    });
  }
});
