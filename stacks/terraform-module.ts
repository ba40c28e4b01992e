/**
 * A self-contained Terraform module, synthesized by cdktf from the same {@link PayloadPipeline}
 * construct: every per-instance setting an input variable (validated like the prop), outputs for
 * producers and operators, no provider or backend block (the caller's apply, so `for_each` and
 * `count` work), a minimum provider version, and the functions' code as byte-stable zips beside
 * it, addressed through `path.module`.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App, TerraformOutput, TerraformStack, TerraformVariable, Token } from "cdktf";
import { PACKAGE_ROOT, type Bundle } from "../bundling/bundle.ts";
import { filesOf, stableZip } from "../bundling/stable-zip.ts";
import type { LambdaRuntime } from "./config.ts";
import { propExpression, validationsOf, variableName, variablesFor, type ModuleShape, type ModuleVariable } from "./module-variables.ts";
import { PayloadPipeline, PIPELINE_DEFAULTS, type PayloadPipelineProps } from "./payload-pipeline.ts";
import { policyDocument } from "./policy-document.ts";
import { hclExpression } from "./terraform-expression.ts";

export interface TerraformModuleOptions extends Partial<ModuleShape> {
  /** The team's consumer module (exports `handler`), absolute or relative to the working directory. */
  readonly consumerEntry: string;
  /** @default "nodejs22.x" */
  readonly runtime?: LambdaRuntime;
  /** How the module was generated, for its header; the command that regenerates it. */
  readonly command?: string;
}

/** The module's files by path inside its directory. */
export type ModuleFiles = ReadonlyMap<string, Buffer>;

export const MODULE_FILE = "main.tf.json";
export const ASSETS_DIR = "assets";
export const TERRAFORM_VERSION = ">= 1.9.0";

/**
 * hashicorp/aws versions the module accepts. The lowest is the one it is tested with (the last
 * 5.x); nodejs24.x needs a 6.x provider that knows the runtime. The next major version may remove
 * arguments the module writes, so it is left out until the package is tested with it.
 */
export function awsProviderConstraint(runtime: LambdaRuntime): string {
  return runtime === "nodejs24.x" ? ">= 6.25.0, < 7.0.0" : ">= 5.100.0, < 7.0.0";
}

/** The zip of one function, by role, inside the module. */
export function assetPath(role: "consumer" | "sender"): string {
  return `${ASSETS_DIR}/${role}.zip`;
}

export function synthesizeTerraformModule(options: TerraformModuleOptions): ModuleFiles {
  const shape: ModuleShape = {
    sender: options.sender ?? PIPELINE_DEFAULTS.sender,
    alarms: options.alarms ?? PIPELINE_DEFAULTS.alarms,
    createAlarmTopic: options.createAlarmTopic ?? PIPELINE_DEFAULTS.createAlarmTopic,
    failureBucketVersioning: options.failureBucketVersioning ?? PIPELINE_DEFAULTS.failureBucketVersioning,
  };
  const runtime = options.runtime ?? PIPELINE_DEFAULTS.runtime;
  const outdir = mkdtempSync(path.join(os.tmpdir(), "terraform-module-"));
  try {
    // Without validation: its one check here is "resources without a provider construct", which is
    // the point of a module (the caller's provider applies it).
    const app = new App({ outdir, stackTraces: false, skipValidation: true });
    const stack = new TerraformStack(app, "module");
    const variables = variablesFor(shape);
    const props: Record<string, unknown> = { consumerEntry: options.consumerEntry, runtime, ...shape };
    for (const variable of variables) props[variable.prop] = propValue(declare(stack, variable, variables), variable);

    // "Default" is left out of Terraform addresses: aws_lambda_function.consumer_function_…
    const pipeline = new PayloadPipeline(stack, "Default", props as unknown as PayloadPipelineProps);
    // The zips are written beside the module, byte-stable, instead of cdktf's assets.
    pipeline.consumer.function.filename = `\${path.module}/${assetPath("consumer")}`;
    if (pipeline.sender) pipeline.sender.function.filename = `\${path.module}/${assetPath("sender")}`;
    declareOutputs(stack, pipeline);

    app.synth();
    const synthesized = JSON.parse(readFileSync(path.join(outdir, "stacks", "module", "cdk.tf.json"), "utf8")) as Record<string, unknown>;
    const files = new Map<string, Buffer>([[MODULE_FILE, Buffer.from(moduleJson(synthesized, runtime, options.command))]]);
    const bundles: [string, Bundle | undefined][] = [
      ["consumer", pipeline.consumerBundle],
      ["sender", pipeline.senderBundle],
    ];
    for (const [role, bundle] of bundles) if (bundle) files.set(assetPath(role as "consumer" | "sender"), stableZip(filesOf(bundle.dir)));
    return files;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function declare(stack: TerraformStack, variable: ModuleVariable, all: readonly ModuleVariable[]): TerraformVariable {
  const optional = variable.default === null;
  const declared = new TerraformVariable(stack, variableName(variable.prop), {
    type: variable.type,
    description: variable.description,
    ...(variable.default !== undefined && !optional && { default: variable.default }),
    // Null means "the default" for settings that have one, so a caller can pass a value through
    // from its own optional variable.
    ...(variable.default !== undefined && { nullable: optional }),
  });
  for (const { condition, errorMessage } of validationsOf(variable, all)) declared.addValidation({ condition: `\${${condition}}`, errorMessage });
  // cdktf 0.21 cannot write a null default (it drops or chokes on it).
  if (optional) declared.addOverride("default", null);
  return declared;
}

function propValue(declared: TerraformVariable, variable: ModuleVariable): unknown {
  const expression = propExpression(variable.prop);
  if (expression !== `var.${variableName(variable.prop)}`) return Token.asNumber(hclExpression(expression));
  switch (variable.type) {
    case "string":
      return declared.stringValue;
    case "number":
      return declared.numberValue;
    case "list(string)":
      return declared.listValue;
    case "bool":
    case "map(string)":
      return declared.value;
  }
}

function declareOutputs(stack: TerraformStack, pipeline: PayloadPipeline): void {
  const { payloads, failureRecords, consumer, sender, idempotency, alarms, settings } = pipeline;
  const producerPolicy = policyDocument(pipeline, "producer_policy", pipeline.producerStatements());
  const outputs: Record<string, [unknown, string]> = {
    consumer_function_name: [consumer.function.functionName, "Function that receives the payloads (sendPayload's consumerFunction)"],
    consumer_function_arn: [consumer.function.arn, "Consumer function ARN"],
    ...(sender && {
      sender_function_name: [sender.function.functionName, "Function to invoke with a payload as its event"],
      sender_function_arn: [sender.function.arn, "Sender function ARN"],
    }),
    bucket_name: [payloads.bucket.bucket, "Payload bucket (sendPayload's bucket)"],
    bucket_arn: [payloads.bucket.arn, "Payload bucket ARN"],
    payload_prefix: [settings.payloadPrefix, "Key prefix of payload objects (sendPayload's s3KeyPrefix)"],
    failure_bucket_name: [failureRecords.bucket.bucket, "Records of consumer events that failed for good (npm run redrive)"],
    failure_bucket_arn: [failureRecords.bucket.arn, "Failure-record bucket ARN"],
    idempotency_table_name: [idempotency.table.name, "DynamoDB table of processed payload ids"],
    consumer_role_name: [consumer.role.name, "Execution role of the consumer"],
    producer_policy_json: [producerPolicy.json, "IAM policy a producer in this account needs: attach it to the producer's role"],
    ...(alarms && {
      alarm_topic_arn: [alarms.topic?.arn ?? settings.alarmTopicArn ?? null, "Topic the alarms notify (null when none)"],
      alarm_names: [Object.values(alarms.alarms).map((a) => a.alarmName), "The consumer's CloudWatch alarms"],
    }),
  };
  // Construct ids apart from the variables' (payload_prefix is both); Terraform keeps them apart.
  for (const [name, [value, description]] of Object.entries(outputs)) new TerraformOutput(stack, `output_${name}`, { value, description }).overrideLogicalId(name);
}

/**
 * The module's JSON: cdktf's output without what a module must not have (the backend cdktf adds
 * by default, with an absolute path) or need (cdktf's metadata), with the Terraform and provider
 * versions it needs and a header saying how it was made. Keys sorted, so it is byte-stable.
 */
function moduleJson(synthesized: Record<string, unknown>, runtime: LambdaRuntime, command: string | undefined): string {
  const json = withoutComments(synthesized) as Record<string, unknown>;
  if ("provider" in json) throw new Error("a Terraform module must not configure providers");
  json.terraform = {
    required_version: TERRAFORM_VERSION,
    required_providers: { aws: { source: "hashicorp/aws", version: awsProviderConstraint(runtime) } },
  };
  const version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { name: string; version: string });
  json["//"] = `Generated by ${version.name} ${version.version}${command ? ` with: ${command}` : ""}. Do not edit: regenerate it (docs/terraform-module.md).`;
  return `${JSON.stringify(sortedKeys(json), null, 2)}\n`;
}

function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "//").map(([k, v]) => [k, withoutComments(v)]));
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  );
}

/**
 * Writes the module into `outDir`: the module file, and the zips under assets/, which belong to
 * the generator (other files there are removed: a zip the module no longer names). Anything else
 * in the directory stays, such as a README or an override file of the team's. Files whose bytes
 * are unchanged are not rewritten. Returns the paths written and removed.
 */
export function writeModuleFiles(outDir: string, files: ModuleFiles): { written: string[]; removed: string[] } {
  const written: string[] = [];
  const removed: string[] = [];
  mkdirSync(path.join(outDir, ASSETS_DIR), { recursive: true });
  for (const [name, bytes] of files) {
    const file = path.join(outDir, ...name.split("/"));
    if (existsSync(file) && readFileSync(file).equals(bytes)) continue;
    writeFileSync(file, bytes);
    written.push(name);
  }
  for (const name of readdirSync(path.join(outDir, ASSETS_DIR))) {
    if (files.has(`${ASSETS_DIR}/${name}`)) continue;
    rmSync(path.join(outDir, ASSETS_DIR, name), { recursive: true, force: true });
    removed.push(`${ASSETS_DIR}/${name}`);
  }
  return { written, removed };
}
