/**
 * The deployed pipeline: payload bucket, sender and consumer functions with least-privilege
 * roles, the S3 trigger, an S3 bucket as the on-failure destination of the consumer's
 * asynchronous invocations, and alarms.
 */
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition/index.js";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack, type TerraformBackend } from "cdktf";
import type { Construct } from "constructs";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { consumerEnvironment, FAILURE_RECORD_PREFIX, senderEnvironment } from "../lib/contract.ts";
import { idempotencyTableName, pipelineSettings, type StackConfig } from "./config.ts";
import { ConsumerAlarms } from "./consumer-alarms.ts";
import { IdempotencyTable } from "./idempotency-table.ts";
import { NodejsFunction } from "./nodejs-function.ts";
import { PayloadBucket } from "./payload-bucket.ts";
import { S3Trigger } from "./s3-trigger.ts";

export interface PipelineStackProps {
  /** Validated settings, from `loadStackConfig()`. */
  readonly config: StackConfig;
  /** Bundles from `bundleHandlers()`, built once by the caller (main.ts, or a test file). */
  readonly bundles: Readonly<Record<FunctionRole, Bundle>>;
}

export class PipelineStack extends TerraformStack {
  public readonly provider: AwsProvider;
  public readonly backend: TerraformBackend;
  public readonly account: DataAwsCallerIdentity;
  public readonly partition: DataAwsPartition;
  public readonly payloads: PayloadBucket;
  /** The consumer's on-failure destination: Lambda's records of events that failed for good. */
  public readonly failureRecords: PayloadBucket;
  /** Undefined when `alarms` is off. */
  public readonly alarms: ConsumerAlarms | undefined;
  public readonly consumer: NodejsFunction;
  public readonly sender: NodejsFunction;
  public readonly trigger: S3Trigger;
  public readonly consumerInvokeConfig: LambdaFunctionEventInvokeConfig;
  public readonly idempotency: IdempotencyTable;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id);
    const { config, bundles } = props;

    this.provider = new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags: [{ tags: { ...config.defaultTags } }],
    });

    this.backend = config.stateBucket !== undefined ? this.s3Backend(config, config.stateBucket) : this.localBackend(config);

    // Data sources that depend on nothing are read while planning, so ARNs built from them stay
    // readable in every plan a reviewer approves.
    this.account = new DataAwsCallerIdentity(this, "account");
    this.partition = new DataAwsPartition(this, "partition");

    this.payloads = new PayloadBucket(this, "payloads", {
      bucketName: config.bucketName,
      bucketPrefix: config.bucketPrefix,
      forceDestroy: config.forceDestroy,
      kmsKeyArn: config.kmsKeyArn,
      payloadPrefix: config.payloadPrefix,
      expirationDays: config.payloadExpirationDays,
    });
    const bucket = this.payloads.bucket;
    const payloadObjects = `${bucket.arn}/${config.payloadPrefix}*`;
    const settings = pipelineSettings(config, bucket.bucket);

    // A bucket of its own rather than a prefix of the payload bucket: it has no notification, so
    // a record can never trigger the consumer, and the consumer's grant to write records (which
    // Lambda checks covers the destination bucket) cannot reach a payload.
    this.failureRecords = new PayloadBucket(this, "failure_records", {
      bucketName: config.failureBucketName,
      bucketPrefix: config.failureBucketPrefix,
      forceDestroy: config.forceDestroy,
      kmsKeyArn: config.kmsKeyArn,
      payloadPrefix: FAILURE_RECORD_PREFIX,
      expirationDays: config.failureRecordExpirationDays,
      lifecycleRuleId: "expire-failure-records",
    });
    const failureBucket = this.failureRecords.bucket;

    this.idempotency = new IdempotencyTable(this, "idempotency", { tableName: idempotencyTableName(config) });

    const common = {
      runtime: config.runtime,
      architecture: config.architecture,
      memorySize: config.memorySize,
      timeout: config.timeout,
      logRetentionDays: config.logRetentionDays,
    };

    this.consumer = new NodejsFunction(this, "consumer", {
      ...common,
      ephemeralStorageMb: config.consumerEphemeralStorageMb,
      functionName: config.consumerFunctionName,
      bundle: bundles.consumer,
      environment: consumerEnvironment(settings),
      policyStatements: [
        { sid: "ReadAndDeletePayloads", effect: "Allow", actions: ["s3:GetObject", "s3:DeleteObject"], resources: [payloadObjects] },
        // Without ListBucket, S3 answers a get of a missing key with 403 AccessDenied instead of
        // 404 NoSuchKey, and the consumer could not tell an already-processed duplicate delivery
        // from a permissions problem. A prefix condition would not help: the 404 check carries no
        // prefix, so the grant is on this bucket, which holds nothing but payloads.
        { sid: "TellMissingPayloads", effect: "Allow", actions: ["s3:ListBucket"], resources: [bucket.arn] },
        // Lambda writes the records of failed asynchronous events with the function's role; the
        // documented permissions for an S3 destination are PutObject and ListBucket. The bucket
        // holds nothing but these records.
        { sid: "WriteFailureRecords", effect: "Allow", actions: ["s3:PutObject"], resources: [`${failureBucket.arn}/*`] },
        { sid: "ListFailureRecords", effect: "Allow", actions: ["s3:ListBucket"], resources: [failureBucket.arn] },
        this.idempotency.grantIdempotentProcessing("ProcessPayloadsOnce"),
        ...kmsStatement(config, "DecryptPayloads", "kms:Decrypt"),
        ...kmsStatement(config, "EncryptFailureRecords", "kms:GenerateDataKey"),
      ],
    });

    this.sender = new NodejsFunction(this, "sender", {
      ...common,
      functionName: config.senderFunctionName,
      bundle: bundles.sender,
      environment: senderEnvironment(settings),
      policyStatements: [
        { sid: "WritePayloads", effect: "Allow", actions: ["s3:PutObject"], resources: [payloadObjects] },
        // The ARN is spelled out rather than read from the consumer resource: a reference would make
        // this policy "known after apply" in the plan of every consumer code change.
        { sid: "InvokeConsumer", effect: "Allow", actions: ["lambda:InvokeFunction"], resources: [this.functionArn(config.consumerFunctionName)] },
        // SSE-KMS puts need a data key; single-part puts need nothing else from KMS.
        ...kmsStatement(config, "EncryptPayloads", "kms:GenerateDataKey"),
      ],
    });

    this.trigger = new S3Trigger(this, "trigger", {
      bucket,
      function: this.consumer.function,
      prefix: config.payloadPrefix,
      sourceAccount: this.account.accountId,
    });

    this.alarms = config.alarms
      ? new ConsumerAlarms(this, "alarms", {
          functionName: config.consumerFunctionName,
          failureBucketName: failureBucket.bucket,
          eventAgeSeconds: config.alarmEventAgeSeconds,
          ...(config.alarmTopicArn !== undefined && { topicArn: config.alarmTopicArn }),
          createTopic: config.createAlarmTopic,
        })
      : undefined;

    this.consumerInvokeConfig = new LambdaFunctionEventInvokeConfig(this, "consumer_async", {
      functionName: this.consumer.function.functionName,
      maximumRetryAttempts: config.maxRetryAttempts,
      maximumEventAgeInSeconds: config.maxEventAgeSeconds,
      destinationConfig: { onFailure: { destination: failureBucket.arn } },
      // Lambda checks that the role may send to the destination when this is written.
      dependsOn: [this.consumer.policy],
    });

    const outputs = {
      bucket_name: [bucket.bucket, "Payload bucket"],
      sender_function_name: [this.sender.function.functionName, "Function to invoke with a payload"],
      sender_function_arn: [this.sender.function.arn, "Sender function ARN"],
      consumer_function_name: [this.consumer.function.functionName, "Function that receives the payloads"],
      consumer_function_arn: [this.consumer.function.arn, "Consumer function ARN"],
      failure_bucket_name: [failureBucket.bucket, "Records of consumer events that failed for good (npm run redrive)"],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value, description });
    }
    if (this.alarms?.topic) new TerraformOutput(this, "alarm_topic_arn", { value: this.alarms.topic.arn, description: "Topic the alarms notify; subscribe to it" });
  }

  private functionArn(functionName: string): string {
    return `arn:${this.partition.partition}:lambda:${this.provider.region}:${this.account.accountId}:function:${functionName}`;
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

function kmsStatement(config: StackConfig, sid: string, action: string): DataAwsIamPolicyDocumentStatement[] {
  return config.kmsKeyArn === undefined ? [] : [{ sid, effect: "Allow", actions: [action], resources: [config.kmsKeyArn] }];
}
