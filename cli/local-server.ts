/**
 * The server behind `npm run local`: the local cloud with the project's configuration, a banner
 * with copy-paste commands for the AWS CLI the user has, and every function log line prefixed
 * with the function's name.
 */
import path from "node:path";
import { bundleFunction, bundleHandlers, PROJECT_ROOT } from "../bundling/bundle.ts";
import type { PipelineSettings } from "../lib/contract.ts";
import { failureRecordPrefix } from "../lib/failure-records.ts";
import { startLocalCloud, type LocalCloud } from "../local/cloud.ts";
import { RUNTIMES, type StackConfig } from "../stacks/config.ts";
import { awsCliVersion, isKnown, V2_BINARY_FORMAT_FLAG, type AwsCli, type UnknownAwsCli } from "./aws-cli.ts";
import { localCloudOptions } from "./cloud-from-config.ts";
import { endpointOptions } from "./ports.ts";

export interface LocalServerOptions {
  lambdaPort: number;
  s3Port: number;
  /** Where log lines and the banner go. */
  print: (line: string) => void;
  /** Keep S3 and DynamoDB state here across restarts (LocalCloudOptions.stateDirectory). */
  stateDir?: string;
  /** A module exporting `handler` to run as the consumer instead of handlers/consumer.ts. */
  consumerEntry?: string;
}

/** Starts the local cloud with the project's configuration and prints how to use it. */
export async function runLocalServer(config: StackConfig, options: LocalServerOptions): Promise<LocalCloud> {
  const target = RUNTIMES[config.runtime];
  const [bundles, consumer, awsCli] = await Promise.all([
    bundleHandlers({ target, ...(options.consumerEntry !== undefined && { only: ["sender"] }) }),
    options.consumerEntry === undefined
      ? undefined
      : bundleFunction({ entry: path.resolve(options.consumerEntry), outDir: path.join(PROJECT_ROOT, ".bundles", "consumer-entry"), target }),
    awsCliVersion(),
  ]);
  const cloud = await startLocalCloud({
    ...localCloudOptions(config),
    bundles: { ...bundles, ...(consumer && { consumer }) },
    ...(options.stateDir !== undefined && { stateDirectory: options.stateDir }),
    lambdaPort: options.lambdaPort,
    s3Port: options.s3Port,
    onLog: (fn, line) => options.print(`[${fn}] ${line}`),
  });
  options.print(banner({ ...cloud, runtime: config.runtime, ...(options.stateDir !== undefined && { stateDir: options.stateDir }), ...(options.consumerEntry !== undefined && { consumerEntry: options.consumerEntry }) }, awsCli));
  return cloud;
}

/** What the banner reports; a running LocalCloud has all of it. */
export interface Endpoints {
  readonly settings: PipelineSettings;
  readonly lambdaEndpoint: string;
  readonly s3Endpoint: string;
  readonly region: string;
}

/**
 * The commands to paste for an AWS CLI major version: the original sample's commands plus
 * `--endpoint-url`, with v2's binary-format flag only for v2.
 */
export function awsCliCommands(e: Endpoints, major: 1 | 2): string[] {
  const invoke = `aws lambda invoke --endpoint-url ${e.lambdaEndpoint} --function-name ${e.settings.senderName}${major === 2 ? ` ${V2_BINARY_FORMAT_FLAG}` : ""}`;
  return [
    `export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=${e.region}`,
    `${invoke} --payload '{"key":"value"}' response.json && cat response.json`,
    "npm run --silent sample-payload > payload-large.json",
    `${invoke} --payload file://payload-large.json response.json && cat response.json`,
    `aws s3 ls --endpoint-url ${e.s3Endpoint} s3://${e.settings.bucket}/ --recursive`,
  ];
}

export interface BannerFacts extends Endpoints {
  readonly failureBucket: string;
  /** The Lambda runtime the stack deploys to. */
  readonly runtime: string;
  readonly stateDir?: string;
  readonly consumerEntry?: string;
}

export function banner(e: BannerFacts, awsCli: AwsCli | UnknownAwsCli | undefined): string {
  const s = e.settings;
  const which = isKnown(awsCli)
    ? `the AWS CLI on your PATH (${awsCli.version})`
    : `the AWS CLI v2 (${awsCli === undefined ? "no `aws` found on PATH" : awsCli.unknown}; with v1, leave out ${V2_BINARY_FORMAT_FLAG})`;
  // The npm commands reach this cloud with --endpoint-url alone when it is not on the default port.
  const here = endpointOptions(e.lambdaEndpoint);
  return [
    "Local cloud is running. Ctrl-C stops it.",
    `  Lambda API  ${e.lambdaEndpoint}   functions ${s.senderName}, ${s.consumerName}`,
    `  S3          ${e.s3Endpoint}   bucket ${s.bucket}, prefix ${s.prefix}`,
    `  Inline limit ${s.inlineLimitBytes} bytes${s.alwaysS3 ? ", always S3" : s.compressInline ? ", compressed when only that fits" : ", compression off"}; objects are ${s.deleteAfterProcessing ? "deleted after processing" : "kept after processing"}`,
    `  Functions run on Node.js ${process.version} here, ${e.runtime} when deployed${e.consumerEntry === undefined ? "" : `; ${s.consumerName} runs ${e.consumerEntry}`}`,
    e.stateDir === undefined ? "  State (objects, records, idempotency) is thrown away when this stops" : `  State (objects, records, idempotency) is kept in ${e.stateDir}`,
    `  Records of events ${s.consumerName} fails for good: s3://${e.failureBucket}/${failureRecordPrefix(s.consumerName)} (npm run redrive${here ? ` --${here}` : ""})`,
    "",
    `Try it from another terminal, with ${which}:`,
    ...awsCliCommands(e, isKnown(awsCli) ? awsCli.major : 2).map((c) => `  ${c}`),
    `  npm run invoke -- payload-large.json${here}`,
    "",
  ].join("\n");
}
