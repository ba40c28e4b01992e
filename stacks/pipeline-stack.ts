/**
 * This repository's stack: the provider and backend from the STACK_* settings, the
 * {@link PayloadPipeline} construct, and the outputs operators and producers read. A team's own
 * stack does the same with its own provider and backend (README, "Embed the construct").
 */
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack, type TerraformBackend } from "cdktf";
import type { Construct } from "constructs";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import type { StackConfig } from "./config.ts";
import { PayloadPipeline } from "./payload-pipeline.ts";
import { RULES } from "./rules.ts";

export interface PipelineStackProps {
  /** Validated settings, from `loadStackConfig()`. */
  readonly config: StackConfig;
  /**
   * The consumer's module.
   * @default this repository's reference consumer, handlers/consumer.ts
   */
  readonly consumerEntry?: string;
}

/** The reference consumer this repository deploys. */
export const REFERENCE_CONSUMER = `${PROJECT_ROOT}/handlers/consumer.ts`;

/**
 * Every name this stack deploys is set from its own settings; the construct's prefix only names
 * what they do not cover, so any valid prefix derived from the stack name will do.
 */
function namePrefixOf(stackName: string): string {
  const prefix = stackName.toLowerCase().replace(/_/g, "-").slice(0, 24).replace(/-+$/, "");
  return RULES.namePrefix.pattern.test(prefix) ? prefix : "pipeline";
}

export class PipelineStack extends TerraformStack {
  public readonly provider: AwsProvider;
  public readonly backend: TerraformBackend;
  public readonly pipeline: PayloadPipeline;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id);
    const { config } = props;

    this.provider = new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags: [{ tags: { ...config.defaultTags } }],
    });

    this.backend = config.stateBucket !== undefined ? this.s3Backend(config, config.stateBucket) : this.localBackend(config);

    // "Default" is left out of Terraform addresses, so the resources keep the addresses they had
    // before the pipeline became a construct: existing deployments plan no replacements.
    this.pipeline = new PayloadPipeline(this, "Default", {
      namePrefix: namePrefixOf(config.stackName),
      consumerEntry: props.consumerEntry ?? REFERENCE_CONSUMER,
      consumerFunctionName: config.consumerFunctionName,
      senderFunctionName: config.senderFunctionName,
      ...(config.bucketName !== undefined ? { bucketName: config.bucketName } : { bucketPrefix: config.bucketPrefix }),
      ...(config.failureBucketName !== undefined ? { failureBucketName: config.failureBucketName } : { failureBucketPrefix: config.failureBucketPrefix }),
      forceDestroy: config.forceDestroy,
      ...(config.kmsKeyArn !== undefined && { kmsKeyArn: config.kmsKeyArn }),
      payloadPrefix: config.payloadPrefix,
      payloadExpirationDays: config.payloadExpirationDays,
      failureRecordExpirationDays: config.failureRecordExpirationDays,
      inlineLimitBytes: config.inlineLimitBytes,
      alwaysS3: config.alwaysS3,
      compressInline: config.compressInline,
      deleteAfterProcessing: config.deleteAfterProcessing,
      runtime: config.runtime,
      architecture: config.architecture,
      memorySize: config.memorySize,
      timeout: config.timeout,
      consumerEphemeralStorageMb: config.consumerEphemeralStorageMb,
      logRetentionDays: config.logRetentionDays,
      maxRetryAttempts: config.maxRetryAttempts,
      maxEventAgeSeconds: config.maxEventAgeSeconds,
      idempotencyExpiresAfterSeconds: config.idempotencyExpiresAfterSeconds,
      sdkConnectionTimeoutMs: config.sdkConnectionTimeoutMs,
      sdkRequestTimeoutMs: config.sdkRequestTimeoutMs,
      alarms: config.alarms,
      ...(config.alarmTopicArn !== undefined && { alarmTopicArn: config.alarmTopicArn }),
      createAlarmTopic: config.createAlarmTopic,
      alarmEventAgeSeconds: config.alarmEventAgeSeconds,
    });
    const { payloads, failureRecords, consumer, sender, alarms } = this.pipeline;

    const outputs = {
      bucket_name: [payloads.bucket.bucket, "Payload bucket"],
      ...(sender && {
        sender_function_name: [sender.function.functionName, "Function to invoke with a payload"],
        sender_function_arn: [sender.function.arn, "Sender function ARN"],
      }),
      consumer_function_name: [consumer.function.functionName, "Function that receives the payloads"],
      consumer_function_arn: [consumer.function.arn, "Consumer function ARN"],
      failure_bucket_name: [failureRecords.bucket.bucket, "Records of consumer events that failed for good (npm run redrive)"],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value, description });
    }
    if (alarms?.topic) new TerraformOutput(this, "alarm_topic_arn", { value: alarms.topic.arn, description: "Topic the alarms notify; subscribe to it" });
  }

  private localBackend(config: StackConfig): LocalBackend {
    // Explicit, because cdktf's default local backend writes an absolute path into the output.
    return new LocalBackend(this, { path: config.localStatePath });
  }

  private s3Backend(config: StackConfig, bucket: string): S3Backend {
    const backend = new S3Backend(this, { bucket, key: config.stateKey, region: config.stateRegion, encrypt: true });
    // cdktf 0.21's S3BackendConfig predates Terraform 1.10's S3-native locking, so the typed
    // config cannot express it; the override adds exactly that one backend argument.
    backend.addOverride("use_lockfile", true);
    return backend;
  }
}
