/**
 * The local cloud configured like the deployment: the same settings (names, prefix, limit,
 * switches, retries, timeout) the stack would give the functions, from the same cdktf context and
 * environment variables.
 */
import type { LocalCloudOptions } from "../local/cloud.ts";
import { LOCAL_BUCKET, LOCAL_FAILURE_BUCKET } from "../local/cloud.ts";
import { pipelineSettings, type StackConfig } from "../stacks/config.ts";

export function localCloudOptions(config: StackConfig): LocalCloudOptions {
  return {
    settings: pipelineSettings(config, config.bucketName ?? LOCAL_BUCKET),
    failureBucket: config.failureBucketName ?? LOCAL_FAILURE_BUCKET,
    region: config.region,
    timeoutSeconds: config.timeout,
    memorySizeMb: config.memorySize,
    consumerEphemeralStorageMb: config.consumerEphemeralStorageMb,
    asyncInvokeConfig: { maxRetryAttempts: config.maxRetryAttempts, maxEventAgeSeconds: config.maxEventAgeSeconds },
  };
}
