/**
 * The whole pipeline as one construct that a team adds to its own cdktf stack, under its own
 * provider and backend: payload bucket, failure-record bucket, idempotency table, the consumer
 * (the team's own module around our consumer runtime), optionally the sender function, the S3
 * trigger, asynchronous retries ending in the failure bucket, alarms, and the grants producers
 * need. Existing resources come in as props (keys, topics, subnets, boundaries, logging targets);
 * everything it creates is a public readonly member.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition/index.js";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region/index.js";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { Aspects, TerraformIterator, TerraformResource, TerraformStack, Token, type IAspect } from "cdktf";
import { Construct, type IConstruct } from "constructs";
import { bundleFunctionSync, FUNCTIONS, PACKAGE_ROOT, type Bundle } from "../bundling/bundle.ts";
import { consumerEnvironment, FAILURE_RECORD_PREFIX, type PipelineSettings, senderEnvironment } from "../lib/contract.ts";
import { idempotencyTableName, RUNTIMES } from "./config.ts";
import { ConsumerAlarms } from "./consumer-alarms.ts";
import { IdempotencyTable } from "./idempotency-table.ts";
import { NodejsFunction } from "./nodejs-function.ts";
import { PayloadBucket } from "./payload-bucket.ts";
import { resolvePipelineProps, type PayloadPipelineProps, type ResolvedPipelineProps } from "./payload-pipeline-props.ts";
import { policyDocument, type PolicyStatement } from "./policy-document.ts";
import { S3Trigger } from "./s3-trigger.ts";
import { asText, hclIn, isTerraformDecided, isVariableReference } from "./terraform-expression.ts";

export { InvalidPipelinePropsError, PIPELINE_DEFAULTS, type PayloadPipelineProps } from "./payload-pipeline-props.ts";

/** What a producer does: invoke the consumer (inline route) and upload payload objects (S3 route). */
export const PRODUCER_S3_ACTIONS = ["s3:AbortMultipartUpload", "s3:PutObject"] as const;
export const PRODUCER_LAMBDA_ACTIONS = ["lambda:InvokeFunction"] as const;
/** With SSE-KMS: a data key per object, and Decrypt for the parts of a multipart upload. */
export const PRODUCER_KMS_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"] as const;

export class PayloadPipeline extends Construct {
  /** The props with every default applied. */
  public readonly settings: ResolvedPipelineProps;
  public readonly account: DataAwsCallerIdentity;
  public readonly partition: DataAwsPartition;
  /** Only when the stack's AWS provider does not name its region as a plain string. */
  public readonly region: DataAwsRegion | undefined;
  public readonly payloads: PayloadBucket;
  /** The consumer's on-failure destination: Lambda's records of events that failed for good. */
  public readonly failureRecords: PayloadBucket;
  public readonly idempotency: IdempotencyTable;
  public readonly consumerBundle: Bundle;
  public readonly consumer: NodejsFunction;
  /** Undefined with `sender: false`. */
  public readonly senderBundle: Bundle | undefined;
  public readonly sender: NodejsFunction | undefined;
  public readonly trigger: S3Trigger;
  public readonly consumerInvokeConfig: LambdaFunctionEventInvokeConfig;
  /** Undefined with `alarms: false`. */
  public readonly alarms: ConsumerAlarms | undefined;
  /** One per entry of `producers`; one with `for_each` over them when `producers` is a token. */
  public readonly producerPermissions: readonly LambdaPermission[];
  /** The consumer's ARN, built from names so that policies stay known in every plan. */
  public readonly consumerFunctionArn: string;
  /** The functions' environment settings (bucket and names as Terraform will know them). */
  public readonly pipelineSettings: PipelineSettings;

  constructor(scope: Construct, id: string, props: PayloadPipelineProps) {
    super(scope, id);
    const s = (this.settings = withTerraformDerivedDefaults(this, resolvePipelineProps(this.node.path, props, (v) => Token.isUnresolved(v)), props));
    const hcl = hclIn(this);

    // Data sources that depend on nothing are read while planning, so ARNs built from them stay
    // readable in every plan a reviewer approves.
    this.account = new DataAwsCallerIdentity(this, "account");
    this.partition = new DataAwsPartition(this, "partition");
    const providerRegion = literalProviderRegion(this);
    this.region = providerRegion === undefined ? new DataAwsRegion(this, "region") : undefined;
    const region = providerRegion ?? this.region!.id;

    // Bundled now (synchronously: constructors cannot wait), so a bad entry stops synthesis here.
    const target = RUNTIMES[s.runtime];
    this.consumerBundle = bundleFunctionSync({ entry: path.resolve(s.consumerEntry), target });
    this.senderBundle = s.sender ? bundleFunctionSync({ entry: FUNCTIONS.sender.entry, workingDir: PACKAGE_ROOT, target }) : undefined;

    const accessLogs = (folder: string) =>
      s.accessLogsBucketName === undefined ? {} : { accessLogs: { bucketName: s.accessLogsBucketName, prefix: `${s.accessLogsPrefix}${folder}/` } };
    const kms = s.kmsKeyArn === undefined ? {} : { kmsKeyArn: s.kmsKeyArn };

    this.payloads = new PayloadBucket(this, "payloads", {
      ...(s.bucketName !== undefined ? { bucketName: s.bucketName } : { bucketPrefix: s.bucketPrefix }),
      forceDestroy: s.forceDestroy,
      ...kms,
      payloadPrefix: s.payloadPrefix,
      expirationDays: s.payloadExpirationDays,
      ...accessLogs("payloads"),
      policyStatements: (arn) =>
        isTerraformDecided(s.producers)
          ? [{ ...this.producerBucketStatement(s.producers, `${arn}/${s.payloadPrefix}*`), onlyIf: hcl.any`length(${s.producers}) > 0` }]
          : s.producers.length === 0
            ? []
            : [this.producerBucketStatement(s.producers, `${arn}/${s.payloadPrefix}*`)],
    });
    const bucket = this.payloads.bucket;
    const payloadObjects = `${bucket.arn}/${s.payloadPrefix}*`;

    // A bucket of its own rather than a prefix of the payload bucket: it has no notification, so
    // a record can never trigger the consumer, and the consumer's grant to write records (which
    // Lambda checks covers the destination bucket) cannot reach a payload.
    this.failureRecords = new PayloadBucket(this, "failure_records", {
      ...(s.failureBucketName !== undefined ? { bucketName: s.failureBucketName } : { bucketPrefix: s.failureBucketPrefix }),
      forceDestroy: s.forceDestroy,
      ...kms,
      payloadPrefix: FAILURE_RECORD_PREFIX,
      expirationDays: s.failureRecordExpirationDays,
      lifecycleRuleId: "expire-failure-records",
      versioning: s.failureBucketVersioning,
      ...accessLogs("failure-records"),
    });
    const failureBucket = this.failureRecords.bucket;

    this.idempotency = new IdempotencyTable(this, "idempotency", { tableName: idempotencyTableName(s) });

    this.pipelineSettings = {
      senderName: s.senderFunctionName,
      consumerName: s.consumerFunctionName,
      bucket: bucket.bucket,
      prefix: s.payloadPrefix,
      inlineLimitBytes: s.inlineLimitBytes,
      alwaysS3: s.alwaysS3,
      compressInline: s.compressInline,
      deleteAfterProcessing: s.deleteAfterProcessing,
      // The name, not a reference: the consumer's environment stays readable in the plan.
      idempotencyTable: idempotencyTableName(s),
      idempotencyExpiresAfterSeconds: s.idempotencyExpiresAfterSeconds,
      sdkConnectionTimeoutMs: s.sdkConnectionTimeoutMs,
      sdkRequestTimeoutMs: s.sdkRequestTimeoutMs,
    };

    const common = {
      runtime: s.runtime,
      architecture: s.architecture,
      memorySize: s.memorySize,
      timeout: s.timeout,
      logRetentionDays: s.logRetentionDays,
      tracing: s.tracing,
      // "/" is IAM's own default; writing it would change the plan of every existing stack.
      ...(s.rolePath !== "/" && { rolePath: s.rolePath }),
      ...(s.logKmsKeyArn !== undefined && { logKmsKeyArn: s.logKmsKeyArn }),
      ...(s.permissionsBoundaryArn !== undefined && { permissionsBoundary: s.permissionsBoundaryArn }),
      ...(s.subnetIds !== undefined && s.securityGroupIds !== undefined && { vpc: { subnetIds: s.subnetIds, securityGroupIds: s.securityGroupIds } }),
      ...(s.codeSigningConfigArn !== undefined && { codeSigningConfigArn: s.codeSigningConfigArn }),
    };

    this.consumer = new NodejsFunction(this, "consumer", {
      ...common,
      ephemeralStorageMb: s.consumerEphemeralStorageMb,
      ...(s.consumerReservedConcurrency !== undefined && { reservedConcurrency: s.consumerReservedConcurrency }),
      functionName: s.consumerFunctionName,
      bundle: this.consumerBundle,
      environment: consumerEnvironment(withTerraformText(this.pipelineSettings)),
      policyStatements: [
        { sid: "ReadAndDeletePayloads", effect: "Allow", actions: ["s3:GetObject", "s3:DeleteObject"], resources: [payloadObjects] },
        // Without ListBucket, S3 answers a get of a missing key with 403 AccessDenied instead of
        // 404 NoSuchKey, and the consumer could not tell a missing payload object from a
        // permissions problem. A prefix condition would not help: the 404 check carries no
        // prefix, so the grant is on this bucket, which holds nothing but payloads.
        { sid: "TellMissingPayloads", effect: "Allow", actions: ["s3:ListBucket"], resources: [bucket.arn] },
        // Lambda writes the records of failed asynchronous events with the function's role; the
        // documented permissions for an S3 destination are PutObject and ListBucket. The bucket
        // holds nothing but these records.
        { sid: "WriteFailureRecords", effect: "Allow", actions: ["s3:PutObject"], resources: [`${failureBucket.arn}/*`] },
        { sid: "ListFailureRecords", effect: "Allow", actions: ["s3:ListBucket"], resources: [failureBucket.arn] },
        this.idempotency.grantIdempotentProcessing("ProcessPayloadsOnce"),
        ...this.kmsStatements("DecryptPayloads", ["kms:Decrypt"]),
        ...this.kmsStatements("EncryptFailureRecords", ["kms:GenerateDataKey"]),
      ],
    });

    // The ARN is spelled out rather than read from the consumer resource: a reference would make
    // every policy naming it "known after apply" in the plan of every consumer code change.
    this.consumerFunctionArn = `arn:${this.partition.partition}:lambda:${region}:${this.account.accountId}:function:${s.consumerFunctionName}`;

    if (this.senderBundle !== undefined) {
      this.sender = new NodejsFunction(this, "sender", {
        ...common,
        functionName: s.senderFunctionName,
        bundle: this.senderBundle,
        environment: senderEnvironment(withTerraformText(this.pipelineSettings)),
        policyStatements: [
          { sid: "WritePayloads", effect: "Allow", actions: ["s3:PutObject"], resources: [payloadObjects] },
          { sid: "InvokeConsumer", effect: "Allow", actions: ["lambda:InvokeFunction"], resources: [this.consumerFunctionArn] },
          // SSE-KMS puts need a data key; the sender's single-part puts need nothing else from KMS.
          ...this.kmsStatements("EncryptPayloads", ["kms:GenerateDataKey"]),
        ],
      });
    }

    this.trigger = new S3Trigger(this, "trigger", {
      bucket,
      function: this.consumer.function,
      prefix: s.payloadPrefix,
      sourceAccount: this.account.accountId,
    });

    this.alarms = s.alarms
      ? new ConsumerAlarms(this, "alarms", {
          functionName: s.consumerFunctionName,
          failureBucketName: failureBucket.bucket,
          eventAgeSeconds: s.alarmEventAgeSeconds,
          ...(s.alarmTopicArn !== undefined && { topicArn: s.alarmTopicArn }),
          createTopic: s.createAlarmTopic,
        })
      : undefined;

    this.consumerInvokeConfig = new LambdaFunctionEventInvokeConfig(this, "consumer_async", {
      functionName: this.consumer.function.functionName,
      maximumRetryAttempts: s.maxRetryAttempts,
      maximumEventAgeInSeconds: s.maxEventAgeSeconds,
      destinationConfig: { onFailure: { destination: failureBucket.arn } },
      // Lambda checks that the role may send to the destination when this is written.
      dependsOn: [this.consumer.policy],
    });

    // Named after the principal, not its position, so adding or removing one producer leaves the
    // others' permissions alone in the plan (with a token list, for_each keys them the same way).
    if (isTerraformDecided(s.producers)) {
      const producer = TerraformIterator.fromList(s.producers as string[]);
      this.producerPermissions = [
        new LambdaPermission(this, "producers", {
          forEach: producer,
          statementId: hcl.string`format("AllowProducer-%s", substr(sha256(${producer.value}), 0, 12))`,
          action: PRODUCER_LAMBDA_ACTIONS[0],
          functionName: this.consumer.function.functionName,
          principal: producer.value,
        }),
      ];
    } else {
      this.producerPermissions = s.producers.map((principal) => {
        const tag = createHash("sha256").update(principal).digest("hex").slice(0, 12);
        return new LambdaPermission(this, `producer_${tag}`, {
          statementId: `AllowProducer-${tag}`,
          action: PRODUCER_LAMBDA_ACTIONS[0],
          functionName: this.consumer.function.functionName,
          principal,
        });
      });
    }

    if (isTerraformDecided(s.tags) || Object.keys(s.tags).length > 0) Aspects.of(this).add(new TagResources(s.tags));
  }

  /**
   * What a producer needs, and nothing more: invoke the consumer, put (and abort multipart
   * uploads of) payload objects under the prefix, and, with SSE-KMS, use the key.
   */
  public producerStatements(): PolicyStatement[] {
    return [
      { sid: "InvokeConsumer", effect: "Allow", actions: [...PRODUCER_LAMBDA_ACTIONS], resources: [this.consumerFunctionArn] },
      { sid: "WritePayloads", effect: "Allow", actions: [...PRODUCER_S3_ACTIONS], resources: [`${this.payloads.bucket.arn}/${this.settings.payloadPrefix}*`] },
      ...this.kmsStatements("UsePayloadKey", [...PRODUCER_KMS_ACTIONS]),
    ];
  }

  /** Lets a role of this stack send payloads: an inline policy with {@link producerStatements}. */
  public grantSend(role: IamRole, id = `send_${role.node.id}`): IamRolePolicy {
    const document = policyDocument(this, `${id}_document`, this.producerStatements());
    return new IamRolePolicy(this, id, { name: `send-payloads-${this.settings.namePrefix}`, role: role.id, policy: document.json });
  }

  private producerBucketStatement(producers: readonly string[], payloadObjects: string): PolicyStatement {
    const partition = this.partition.partition;
    return {
      sid: "ProducersWritePayloads",
      effect: "Allow",
      principals: [
        {
          type: "AWS",
          identifiers: isTerraformDecided(producers)
            ? hclIn(this).any`[for p in ${producers} : can(regex("^[0-9]{12}$", p)) ? format("arn:%s:iam::%s:root", ${partition}, p) : p]`
            : producers.map((p) => (/^\d{12}$/.test(p) ? `arn:${partition}:iam::${p}:root` : p)),
        },
      ],
      actions: [...PRODUCER_S3_ACTIONS],
      resources: [payloadObjects],
    };
  }

  /** With a KMS key: the statement; with a variable that may be null, only when it is set. */
  private kmsStatements(sid: string, actions: string[]): PolicyStatement[] {
    const key = this.settings.kmsKeyArn;
    if (key === undefined) return [];
    const statement = { sid, effect: "Allow", actions, resources: [key] };
    return [isVariableReference(this, key) ? { ...statement, onlyIf: hclIn(this).any`${key} != null` } : statement];
  }
}

/**
 * The settings with each Terraform-decided number or boolean replaced by a value whose text is
 * Terraform's, for the contract's environment functions, which write settings with `String()`
 * (they are bundled into the functions, so they stay free of cdktf).
 */
function withTerraformText(settings: PipelineSettings): PipelineSettings {
  return Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [k, typeof v !== "string" && isTerraformDecided(v) ? { toString: () => asText(v) } : v]),
  ) as unknown as PipelineSettings;
}

/**
 * The SDK timeouts' defaults follow the function timeout; when Terraform decides the timeout,
 * they are Terraform expressions of it.
 */
function withTerraformDerivedDefaults(scope: Construct, s: ResolvedPipelineProps, props: PayloadPipelineProps): ResolvedPipelineProps {
  if (!isTerraformDecided(s.timeout)) return s;
  const hcl = hclIn(scope);
  return {
    ...s,
    sdkConnectionTimeoutMs: props.sdkConnectionTimeoutMs ?? hcl.number`min(2000, floor(${s.timeout} * 1000 / 10))`,
    sdkRequestTimeoutMs: props.sdkRequestTimeoutMs ?? hcl.number`min(5000, floor(${s.timeout} * 1000 / 5))`,
  };
}

/**
 * The region of the stack's one default AWS provider when it is a plain string: the same value
 * the policies had before this construct existed, with no data source to read. Otherwise (no
 * region, a reference, several providers) the construct reads it with `aws_region`.
 */
function literalProviderRegion(scope: Construct): string | undefined {
  const providers = TerraformStack.of(scope)
    .node.findAll()
    .filter((c): c is AwsProvider => c instanceof AwsProvider && c.alias === undefined);
  const region = providers.length === 1 ? providers[0]!.region : undefined;
  return typeof region === "string" && !Token.isUnresolved(region) ? region : undefined;
}

/** Adds tags to every resource under the construct that takes them, keeping each one's own. */
class TagResources implements IAspect {
  private readonly tags: Readonly<Record<string, string>>;

  constructor(tags: Readonly<Record<string, string>>) {
    this.tags = tags;
  }

  visit(node: IConstruct): void {
    if (!(node instanceof TerraformResource) || !("tagsInput" in node)) return;
    const resource = node as TerraformResource & { tags?: Record<string, string>; readonly tagsInput?: Record<string, string> };
    const own = resource.tagsInput ?? {};
    if (!isTerraformDecided(this.tags)) resource.tags = { ...this.tags, ...own };
    else resource.tags = Object.keys(own).length === 0 ? this.tags : hclIn(node).any`merge(${this.tags}, ${own})`;
  }
}
