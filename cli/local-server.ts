/**
 * The server behind `npm run local`: the local cloud with the project's configuration, a banner
 * with copy-paste commands, and every function log line prefixed with the function's name.
 */
import { bundleHandlers } from "../bundling/bundle";
import { failureRecordPrefix } from "../lib/failure-records";
import { startLocalCloud, type LocalCloud } from "../local/cloud";
import { RUNTIMES, type StackConfig } from "../stacks/config";
import { localCloudOptions } from "./cloud-from-config";

export interface LocalServerOptions {
  lambdaPort: number;
  s3Port: number;
  /** Where log lines and the banner go. */
  print: (line: string) => void;
}

/** Starts the local cloud with the project's configuration and prints how to use it. */
export async function runLocalServer(config: StackConfig, options: LocalServerOptions): Promise<LocalCloud> {
  const bundles = await bundleHandlers({ target: RUNTIMES[config.runtime] });
  const cloud = await startLocalCloud({
    ...localCloudOptions(config),
    bundles,
    lambdaPort: options.lambdaPort,
    s3Port: options.s3Port,
    onLog: (fn, line) => options.print(`[${fn}] ${line}`),
  });
  options.print(banner(cloud));
  return cloud;
}

export function banner(cloud: LocalCloud): string {
  const { settings: s, lambdaEndpoint: lambda, s3Endpoint: s3, region } = cloud;
  const v2 = "--cli-binary-format raw-in-base64-out";
  return [
    "Local cloud is running. Ctrl-C stops it.",
    `  Lambda API  ${lambda}   functions ${s.senderName}, ${s.consumerName}`,
    `  S3          ${s3}   bucket ${s.bucket}, prefix ${s.prefix}`,
    `  Inline limit ${s.inlineLimitBytes} bytes${s.alwaysS3 ? ", always S3" : ""}; objects are ${s.deleteAfterProcessing ? "deleted after processing" : "kept after processing"}`,
    `  Records of events ${s.consumerName} fails for good: s3://${cloud.failureBucket}/${failureRecordPrefix(s.consumerName)} (npm run redrive)`,
    "",
    "Try it from another terminal (AWS CLI v2; v1 does not need --cli-binary-format):",
    `  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=${region}`,
    `  aws lambda invoke --endpoint-url ${lambda} --function-name ${s.senderName} ${v2} --payload '{"key":"value"}' response.json && cat response.json`,
    "  npm run --silent sample-payload > payload-large.json",
    `  aws lambda invoke --endpoint-url ${lambda} --function-name ${s.senderName} ${v2} --payload file://payload-large.json response.json && cat response.json`,
    `  aws s3 ls --endpoint-url ${s3} s3://${s.bucket}/ --recursive`,
    "  npm run invoke -- payload-large.json",
    "",
  ].join("\n");
}

