/**
 * `lambda-s3-async-lambda terraform-module`: checks the flags with the construct's own rules,
 * synthesizes the module and writes it, saying what changed.
 */
import path from "node:path";
import { BundleEntryError } from "../bundling/bundle.ts";
import type { LambdaRuntime } from "../stacks/config.ts";
import { InvalidPipelinePropsError } from "../stacks/payload-pipeline.ts";
import { NotAllowed, parseRule, RULES } from "../stacks/rules.ts";
import { synthesizeTerraformModule, writeModuleFiles } from "../stacks/terraform-module.ts";

export interface GenerateOptions {
  readonly consumer: string;
  readonly out: string;
  readonly runtime?: string | undefined;
  readonly sender: boolean;
  readonly alarms: boolean;
  readonly createAlarmTopic: boolean;
  readonly failureBucketVersioning: boolean;
}

/** Writes the module; returns the exit status (1: a bad consumer or flag value, nothing written). */
export async function generateTerraformModule(options: GenerateOptions): Promise<number> {
  let runtime: LambdaRuntime | undefined;
  try {
    runtime = options.runtime === undefined ? undefined : (parseRule(RULES.runtime, options.runtime) as LambdaRuntime);
  } catch (err) {
    if (!(err instanceof NotAllowed)) throw err;
    console.error(`--runtime = ${JSON.stringify(options.runtime)}: must be ${err.allowed}`);
    return 1;
  }
  try {
    const files = synthesizeTerraformModule({
      consumerEntry: path.resolve(options.consumer),
      ...(runtime !== undefined && { runtime }),
      sender: options.sender,
      alarms: options.alarms,
      createAlarmTopic: options.createAlarmTopic,
      failureBucketVersioning: options.failureBucketVersioning,
      command: canonicalCommand(options),
    });
    const { written, removed } = writeModuleFiles(options.out, files);
    const unchanged = [...files.keys()].filter((f) => !written.includes(f));
    console.log(`Terraform module in ${options.out}: ${[...files.keys()].join(", ")}`);
    if (written.length > 0) console.log(`  written: ${written.join(", ")}`);
    if (unchanged.length > 0) console.log(`  unchanged: ${unchanged.join(", ")}`);
    if (removed.length > 0) console.log(`  removed: ${removed.join(", ")}`);
    return 0;
  } catch (err) {
    if (!(err instanceof InvalidPipelinePropsError) && !(err instanceof BundleEntryError)) throw err;
    console.error(err.message);
    return 1;
  }
}

/**
 * The command that regenerates the module, for its header: paths as given, with forward slashes,
 * and the flags in one order, so the same command gives the same bytes.
 */
function canonicalCommand(o: GenerateOptions): string {
  const posix = (p: string) => p.split(path.sep).join("/");
  return [
    "lambda-s3-async-lambda terraform-module",
    `--consumer ${posix(o.consumer)}`,
    `--out ${posix(o.out)}`,
    ...(o.runtime !== undefined ? [`--runtime ${o.runtime}`] : []),
    ...(o.sender ? [] : ["--no-sender"]),
    ...(o.alarms ? [] : ["--no-alarms"]),
    ...(o.createAlarmTopic ? ["--create-alarm-topic"] : []),
    ...(o.failureBucketVersioning ? ["--failure-bucket-versioning"] : []),
  ].join(" ");
}
