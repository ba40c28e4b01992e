import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity/index.js";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification/index.js";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy/index.js";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table/index.js";
import { Testing } from "cdktf";
import { LAMBDA_HANDLER } from "../bundling/bundle.ts";
import { consumerEnvironment, DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, DEFAULTS, IDEMPOTENCY_RECORD, NOTIFICATION_EVENTS, senderEnvironment } from "../lib/contract.ts";
import { pipelineSettings, type StackConfig } from "./config.ts";
import { IDEMPOTENCY_ACTIONS } from "./idempotency-table.ts";
import { PipelineStack } from "./pipeline-stack.ts";
import { buildTestBundles, configFrom, synthesize, type Bundles, type TfJson } from "./test-support.ts";

const POLICY_DOC = DataAwsIamPolicyDocument.tfResourceType;
const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/** Incomplete multipart uploads are aborted in the whole bucket, not only under the prefix (CKV_AWS_300). */
const ABORT_RULE = { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: [{ prefix: "" }], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] };

let bundles: Bundles;
let outdir: string;
let cleanup: () => void;
let config: StackConfig;
let tf: TfJson;

before(async () => {
  const built = await buildTestBundles();
  ({ bundles, cleanup } = built);
  outdir = path.join(built.root, "out");
  config = configFrom();
  tf = synthesize(config, outdir);
});
after(() => cleanup());

function variant(context: Record<string, unknown>): { config: StackConfig; tf: TfJson } {
  const c = configFrom(context);
  return { config: c, tf: synthesize(c, outdir) };
}

/** The function with this name, and the role, inline policy and policy document behind it. */
function fn(t: TfJson, name: string) {
  const lambda = t.find(LambdaFunction.tfResourceType, "function_name", name);
  const role = t.deref(lambda.block.role);
  const roleRef = t.ref(role.type, role.name, "id");
  const policies = Object.entries(t.all(IamRolePolicy.tfResourceType)).filter(([, p]) => p.role === roleRef);
  assert.equal(policies.length, 1, `expected one inline policy on the role of ${name}`);
  const [policyName, policy] = policies[0]!;
  const document = t.deref(policy.policy);
  assert.equal(document.type, POLICY_DOC);
  return { lambda, role, policyName, policy, statements: document.block.statement as Record<string, unknown>[] };
}

function statement(sid: string, actions: string[], resources: string[]) {
  return { sid, effect: "Allow", actions, resources };
}

/** The consumer's ARN as the sender's policy spells it: from data sources, not from the function. */
function consumerArnFor(t: TfJson, region = "us-east-1"): string {
  const partition = t.only(DataAwsPartition.tfResourceType, "data").ref("partition");
  const account = t.only(DataAwsCallerIdentity.tfResourceType, "data").ref("account_id");
  return `arn:${partition}:lambda:${region}:${account}:function:${DEFAULT_CONSUMER_NAME}`;
}

describe("provider and backend", () => {
  test("provider region and default tags come from the config", () => {
    assert.deepEqual(tf.json.provider, { aws: [{ region: "us-east-1", default_tags: [{ tags: { Project: "lambda-s3-async-lambda" } }] }] });
    const custom = variant({ region: "eu-west-1", defaultTags: { team: "payments", env: "prod" } });
    assert.deepEqual(custom.tf.json.provider, { aws: [{ region: "eu-west-1", default_tags: [{ tags: { team: "payments", env: "prod" } }] }] });
  });

  test("the local backend is explicit, with a relative path into the project root", () => {
    assert.deepEqual(tf.json.terraform!.backend, { local: { path: "../../../terraform.lambda-s3-async-lambda.tfstate" } });
  });

  test("an S3 backend with S3-native locking and encryption when a state bucket is configured", () => {
    const s3 = variant({ stateBucket: "my-tf-state", region: "eu-west-1" });
    assert.deepEqual(s3.tf.json.terraform!.backend, {
      s3: { bucket: "my-tf-state", key: "lambda-s3-async-lambda/terraform.tfstate", region: "eu-west-1", encrypt: true, use_lockfile: true },
    });
    const custom = variant({ stateBucket: "my-tf-state", stateKey: "prod/pipeline.tfstate", stateRegion: "us-west-2" });
    assert.deepEqual(custom.tf.json.terraform!.backend, {
      s3: { bucket: "my-tf-state", key: "prod/pipeline.tfstate", region: "us-west-2", encrypt: true, use_lockfile: true },
    });
  });

  test("the S3 backend's use_lockfile is the only raw override", () => {
    const overridesOf = (context: Record<string, unknown>) => {
      const c = configFrom(context);
      const stack = new PipelineStack(Testing.app({ outdir }), c.stackName, { config: c });
      return stack.toTerraform()["//"].metadata.overrides;
    };
    assert.equal(overridesOf({ kmsKeyArn: KMS_KEY }), undefined);
    assert.deepEqual(overridesOf({ stateBucket: "my-tf-state" }), { backend: ["use_lockfile"] });
  });

  test("pins the AWS provider that @cdktf/provider-aws was generated for", () => {
    assert.deepEqual(tf.json.terraform!.required_providers, { aws: { source: "aws", version: "6.25.0" } });
  });
});

describe("payload bucket", () => {
  test("a generated name from the stack name, and no force_destroy, by default", () => {
    const { block } = tf.within("payloads", S3Bucket.tfResourceType);
    assert.deepEqual(block, { bucket_prefix: "lambda-s3-async-lambda-", force_destroy: false });
  });

  test("an exact name and force_destroy when configured", () => {
    const { block } = variant({ bucketName: "my-payloads", forceDestroy: true }).tf.within("payloads", S3Bucket.tfResourceType);
    assert.deepEqual(block, { bucket: "my-payloads", force_destroy: true });
  });

  test("object ownership is BucketOwnerEnforced and all public access is blocked", () => {
    const bucket = tf.within("payloads", S3Bucket.tfResourceType);
    tf.assertHas(S3BucketOwnershipControls, { bucket: bucket.ref("id"), rule: { object_ownership: "BucketOwnerEnforced" } });
    assert.deepEqual(tf.within("payloads", S3BucketPublicAccessBlock.tfResourceType).block, {
      bucket: bucket.ref("id"),
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
  });

  test("SSE-S3 by default", () => {
    assert.deepEqual(tf.within("payloads", S3BucketServerSideEncryptionConfigurationA.tfResourceType).block, {
      bucket: tf.within("payloads", S3Bucket.tfResourceType).ref("id"),
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
  });

  test("SSE-KMS with a bucket key when a key ARN is configured", () => {
    const kms = variant({ kmsKeyArn: KMS_KEY }).tf;
    assert.deepEqual(kms.within("payloads", S3BucketServerSideEncryptionConfigurationA.tfResourceType).block.rule, [
      { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: KMS_KEY }, bucket_key_enabled: true },
    ]);
  });

  test("the bucket policy denies every request made without TLS", () => {
    const bucket = tf.within("payloads", S3Bucket.tfResourceType);
    const policy = tf.within("payloads", S3BucketPolicy.tfResourceType);
    assert.equal(policy.block.bucket, bucket.ref("id"));
    const document = tf.deref(policy.block.policy);
    assert.deepEqual(document.block.statement, [
      {
        sid: "DenyInsecureTransport",
        effect: "Deny",
        principals: [{ type: "*", identifiers: ["*"] }],
        actions: ["s3:*"],
        resources: [bucket.ref("arn"), `${bucket.ref("arn")}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      },
    ]);
  });

  test("each bucket's policy is applied after its public access block", () => {
    // Applied at the same time, S3 may refuse one of them ("conflicting conditional operation").
    for (const scope of ["payloads", "failure_records"]) {
      const block = tf.within(scope, S3BucketPublicAccessBlock.tfResourceType);
      assert.deepEqual(tf.within(scope, S3BucketPolicy.tfResourceType).block.depends_on, [`${S3BucketPublicAccessBlock.tfResourceType}.${block.name}`], scope);
    }
  });

  test("the lifecycle rules expire leftovers under the prefix and abort incomplete uploads anywhere in the bucket", () => {
    const lifecycle = tf.within("payloads", S3BucketLifecycleConfiguration.tfResourceType).block;
    assert.equal(lifecycle.bucket, tf.within("payloads", S3Bucket.tfResourceType).ref("id"));
    assert.deepEqual(lifecycle.rule, [
      {
        id: "expire-leftover-payloads",
        status: "Enabled",
        filter: [{ prefix: "payloads/" }],
        expiration: [{ days: 15 }],
      },
      ABORT_RULE,
    ]);
    const custom = variant({ payloadExpirationDays: 2, failureRecordExpirationDays: 1, payloadPrefix: "in/" }).tf;
    const rule = (custom.within("payloads", S3BucketLifecycleConfiguration.tfResourceType).block.rule as Record<string, unknown>[])[0]!;
    assert.deepEqual([rule.filter, rule.expiration], [[{ prefix: "in/" }], [{ days: 2 }]]);
  });
});

describe("functions", () => {
  test("sender and consumer deploy their own bundle, by content hash, with the contract's handler", () => {
    for (const [name, bundle] of [
      [DEFAULT_SENDER_NAME, bundles.sender],
      [DEFAULT_CONSUMER_NAME, bundles.consumer],
    ] as const) {
      const { lambda } = fn(tf, name);
      assert.equal(lambda.block.handler, LAMBDA_HANDLER);
      assert.equal(lambda.block.source_code_hash, bundle.contentHash);
      const hex = Buffer.from(bundle.contentHash, "base64").toString("hex").slice(0, 32);
      assert.match(String(lambda.block.filename), new RegExp(`^assets/[a-z]+_code_[0-9A-F]{8}/${hex}/archive\\.zip$`));
    }
    assert.notEqual(fn(tf, DEFAULT_SENDER_NAME).lambda.block.filename, fn(tf, DEFAULT_CONSUMER_NAME).lambda.block.filename);
  });

  test("nodejs22.x on arm64 with 512 MB and 30 s by default", () => {
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
      const { block } = fn(tf, name).lambda;
      assert.deepEqual([block.runtime, block.architectures, block.memory_size, block.timeout], ["nodejs22.x", ["arm64"], 512, 30]);
    }
  });

  test("the consumer's ephemeral storage is 512 MB by default and configurable; the sender keeps 512", () => {
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) assert.deepEqual(fn(tf, name).lambda.block.ephemeral_storage, { size: 512 }, name);
    const t = variant({ consumerEphemeralStorageMb: 10_240 }).tf;
    assert.deepEqual(fn(t, DEFAULT_CONSUMER_NAME).lambda.block.ephemeral_storage, { size: 10_240 });
    assert.deepEqual(fn(t, DEFAULT_SENDER_NAME).lambda.block.ephemeral_storage, { size: 512 });
  });

  test("nodejs24.x, x86_64, memory and timeout are configurable", () => {
    const t = variant({ runtime: "nodejs24.x", architecture: "x86_64", memorySize: 1024, timeout: 60 }).tf;
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
      const { block } = fn(t, name).lambda;
      assert.deepEqual([block.runtime, block.architectures, block.memory_size, block.timeout], ["nodejs24.x", ["x86_64"], 1024, 60]);
    }
  });

  test("the environment is exactly what the contract module builds from the config", () => {
    const bucketName = tf.within("payloads", S3Bucket.tfResourceType).ref("bucket");
    const settings = pipelineSettings(config, bucketName);
    assert.deepEqual(fn(tf, DEFAULT_SENDER_NAME).lambda.block.environment, { variables: senderEnvironment(settings) });
    assert.deepEqual(fn(tf, DEFAULT_CONSUMER_NAME).lambda.block.environment, { variables: consumerEnvironment(settings) });

    const custom = variant({
      senderFunctionName: "send",
      consumerFunctionName: "receive",
      bucketName: "my-payloads",
      payloadPrefix: "in/",
      inlineLimitBytes: 262_144,
      alwaysS3: true,
      compressInline: false,
      deleteAfterProcessing: false,
    });
    const s = pipelineSettings(custom.config, "my-payloads");
    assert.deepEqual(s, {
      senderName: "send",
      consumerName: "receive",
      bucket: "my-payloads",
      prefix: "in/",
      inlineLimitBytes: 262_144,
      alwaysS3: true,
      compressInline: false,
      deleteAfterProcessing: false,
      idempotencyTable: "receive-idempotency",
      idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
      sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
      sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
    });
    // The bucket name is still Terraform's, so a renamed bucket cannot drift from the env var.
    const settingsInTf = { ...s, bucket: custom.tf.within("payloads", S3Bucket.tfResourceType).ref("bucket") };
    assert.deepEqual(fn(custom.tf, "send").lambda.block.environment, { variables: senderEnvironment(settingsInTf) });
    assert.deepEqual(fn(custom.tf, "receive").lambda.block.environment, { variables: consumerEnvironment(settingsInTf) });
  });

  test("each function has its own log group, with configurable retention, wired through logging_config", () => {
    for (const [t, retention] of [
      [tf, 14],
      [variant({ logRetentionDays: 90 }).tf, 90],
    ] as const) {
      for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
        const group = t.find(CloudwatchLogGroup.tfResourceType, "name", `/aws/lambda/${name}`);
        assert.equal(group.block.retention_in_days, retention);
        assert.deepEqual(fn(t, name).lambda.block.logging_config, { log_format: "Text", log_group: group.ref("name") });
      }
    }
  });

  test("each function waits for its role's policy", () => {
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
      const f = fn(tf, name);
      assert.deepEqual(f.lambda.block.depends_on, [`${IamRolePolicy.tfResourceType}.${f.policyName}`]);
    }
  });
});

describe("IAM, least privilege", () => {
  const trust = [{ effect: "Allow", actions: ["sts:AssumeRole"], principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }] }];

  function expectedLogs(t: TfJson, name: string) {
    const group = t.find(CloudwatchLogGroup.tfResourceType, "name", `/aws/lambda/${name}`);
    return statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [`${group.ref("arn")}:*`]);
  }

  test("both roles trust only the Lambda service", () => {
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
      const { role } = fn(tf, name);
      assert.equal(role.block.name_prefix, `${name}-`);
      assert.deepEqual(tf.deref(role.block.assume_role_policy).block.statement, trust);
    }
  });

  test("the sender may put objects under the prefix and invoke exactly the consumer", () => {
    const bucketArn = tf.within("payloads", S3Bucket.tfResourceType).ref("arn");
    assert.deepEqual(fn(tf, DEFAULT_SENDER_NAME).statements, [
      expectedLogs(tf, DEFAULT_SENDER_NAME),
      statement("WritePayloads", ["s3:PutObject"], [`${bucketArn}/payloads/*`]),
      statement("InvokeConsumer", ["lambda:InvokeFunction"], [consumerArnFor(tf)]),
    ]);
    const other = variant({ region: "eu-central-1" }).tf;
    assert.deepEqual(fn(other, DEFAULT_SENDER_NAME).statements[2], statement("InvokeConsumer", ["lambda:InvokeFunction"], [consumerArnFor(other, "eu-central-1")]));
  });

  test("no role policy refers to a function, so a code change cannot make a policy unknown in the plan", () => {
    // Terraform defers a data source to apply time when it refers to a resource with pending
    // changes; the real-terraform suite checks the plan itself, this pins the cause.
    for (const name of [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME]) {
      const text = JSON.stringify(fn(tf, name).statements);
      assert.ok(!text.includes(`\${${LambdaFunction.tfResourceType}.`), `${name}'s policy refers to a function: ${text}`);
    }
  });

  test("the consumer may get and delete objects under the prefix, list its bucket, and write and list failure records", () => {
    const bucketArn = tf.within("payloads", S3Bucket.tfResourceType).ref("arn");
    const recordsArn = tf.within("failure_records", S3Bucket.tfResourceType).ref("arn");
    assert.deepEqual(fn(tf, DEFAULT_CONSUMER_NAME).statements, [
      expectedLogs(tf, DEFAULT_CONSUMER_NAME),
      statement("ReadAndDeletePayloads", ["s3:GetObject", "s3:DeleteObject"], [`${bucketArn}/payloads/*`]),
      statement("TellMissingPayloads", ["s3:ListBucket"], [bucketArn]),
      statement("WriteFailureRecords", ["s3:PutObject"], [`${recordsArn}/*`]),
      statement("ListFailureRecords", ["s3:ListBucket"], [recordsArn]),
      statement("ProcessPayloadsOnce", [...IDEMPOTENCY_ACTIONS], [tf.only(DynamodbTable.tfResourceType).ref("arn")]),
    ]);
    // Neither payload grant reaches the records, and no record grant reaches the payloads.
    assert.notEqual(bucketArn, recordsArn);
  });

  test("with KMS, the sender may generate data keys and the consumer decrypt, on that key only", () => {
    const t = variant({ kmsKeyArn: KMS_KEY, payloadPrefix: "big/" }).tf;
    const bucketArn = t.within("payloads", S3Bucket.tfResourceType).ref("arn");
    assert.deepEqual(fn(t, DEFAULT_SENDER_NAME).statements, [
      expectedLogs(t, DEFAULT_SENDER_NAME),
      statement("WritePayloads", ["s3:PutObject"], [`${bucketArn}/big/*`]),
      statement("InvokeConsumer", ["lambda:InvokeFunction"], [consumerArnFor(t)]),
      statement("EncryptPayloads", ["kms:GenerateDataKey"], [KMS_KEY]),
    ]);
    assert.deepEqual(fn(t, DEFAULT_CONSUMER_NAME).statements, [
      expectedLogs(t, DEFAULT_CONSUMER_NAME),
      statement("ReadAndDeletePayloads", ["s3:GetObject", "s3:DeleteObject"], [`${bucketArn}/big/*`]),
      statement("TellMissingPayloads", ["s3:ListBucket"], [bucketArn]),
      statement("WriteFailureRecords", ["s3:PutObject"], [`${t.within("failure_records", S3Bucket.tfResourceType).ref("arn")}/*`]),
      statement("ListFailureRecords", ["s3:ListBucket"], [t.within("failure_records", S3Bucket.tfResourceType).ref("arn")]),
      statement("ProcessPayloadsOnce", [...IDEMPOTENCY_ACTIONS], [t.only(DynamodbTable.tfResourceType).ref("arn")]),
      statement("DecryptPayloads", ["kms:Decrypt"], [KMS_KEY]),
      statement("EncryptFailureRecords", ["kms:GenerateDataKey"], [KMS_KEY]),
    ]);
  });

  test("no Allow statement anywhere has a wildcard action or a bare * resource", () => {
    for (const t of [tf, variant({ kmsKeyArn: KMS_KEY }).tf]) {
      const documents = Object.entries(t.all(POLICY_DOC, "data"));
      assert.equal(documents.length, 6, "two trust policies, two role policies, two bucket policies");
      for (const [name, doc] of documents) {
        for (const s of doc.statement as { effect: string; actions: string[]; resources?: string[] }[]) {
          if (s.effect !== "Allow") continue;
          for (const action of s.actions) assert.ok(!action.includes("*"), `${name}: action ${action}`);
          for (const resource of s.resources ?? []) assert.notEqual(resource, "*", `${name}: resource *`);
        }
      }
    }
  });
});

describe("trigger", () => {
  test("S3 may invoke the consumer only for this bucket, from this account", () => {
    const permission = tf.only(LambdaPermission.tfResourceType).block;
    const account = tf.only(DataAwsCallerIdentity.tfResourceType, "data");
    assert.deepEqual(permission, {
      statement_id: "AllowS3ObjectCreated",
      action: "lambda:InvokeFunction",
      function_name: fn(tf, DEFAULT_CONSUMER_NAME).lambda.ref("function_name"),
      principal: "s3.amazonaws.com",
      source_arn: tf.within("payloads", S3Bucket.tfResourceType).ref("arn"),
      source_account: account.ref("account_id"),
    });
  });

  test("one notification for the contract's events under the prefix, created after the permission", () => {
    const notification = tf.only(S3BucketNotification.tfResourceType).block;
    const permission = tf.only(LambdaPermission.tfResourceType);
    assert.deepEqual(notification, {
      bucket: tf.within("payloads", S3Bucket.tfResourceType).ref("id"),
      lambda_function: [
        { lambda_function_arn: fn(tf, DEFAULT_CONSUMER_NAME).lambda.ref("arn"), events: [...NOTIFICATION_EVENTS], filter_prefix: "payloads/" },
      ],
      depends_on: [`${LambdaPermission.tfResourceType}.${permission.name}`],
    });
    const custom = variant({ payloadPrefix: "in/" }).tf.only(S3BucketNotification.tfResourceType).block;
    assert.equal((custom.lambda_function as Record<string, unknown>[])[0]!.filter_prefix, "in/");
  });
});

describe("failure handling", () => {
  test("failure records go to a bucket of their own, protected like the payload bucket, expiring before the payloads", () => {
    const records = tf.within("failure_records", S3Bucket.tfResourceType);
    assert.deepEqual(records.block, { bucket_prefix: "lambda-s3-async-lambda-failures-", force_destroy: false });
    // Same construct, same protection: ownership, public access block, encryption, TLS-only policy.
    for (const type of [S3BucketOwnershipControls, S3BucketPublicAccessBlock, S3BucketServerSideEncryptionConfigurationA]) {
      const { bucket: _p, ...payloadSide } = tf.within("payloads", type.tfResourceType).block;
      const { bucket, ...recordSide } = tf.within("failure_records", type.tfResourceType).block;
      assert.equal(bucket, records.ref("id"));
      assert.deepEqual(recordSide, payloadSide, type.tfResourceType);
    }
    const policy = tf.deref(tf.within("failure_records", S3BucketPolicy.tfResourceType).block.policy).block.statement as Record<string, unknown>[];
    assert.deepEqual(policy[0]!.resources, [records.ref("arn"), `${records.ref("arn")}/*`]);
    assert.deepEqual(tf.within("failure_records", S3BucketLifecycleConfiguration.tfResourceType).block.rule, [
      {
        id: "expire-failure-records",
        status: "Enabled",
        filter: [{ prefix: "aws/lambda/async/" }],
        expiration: [{ days: 14 }],
      },
      ABORT_RULE,
    ]);
    // No notification on it: a record can never trigger the consumer.
    assert.equal(tf.only(S3BucketNotification.tfResourceType).block.bucket, tf.within("payloads", S3Bucket.tfResourceType).ref("id"));
    const custom = variant({ failureBucketName: "my-failures", failureRecordExpirationDays: 30, payloadExpirationDays: 31, kmsKeyArn: KMS_KEY }).tf;
    assert.equal(custom.within("failure_records", S3Bucket.tfResourceType).block.bucket, "my-failures");
    const rule = (custom.within("failure_records", S3BucketLifecycleConfiguration.tfResourceType).block.rule as Record<string, unknown>[])[0]!;
    assert.deepEqual(rule.expiration, [{ days: 30 }]);
    const sse = custom.within("failure_records", S3BucketServerSideEncryptionConfigurationA.tfResourceType).block.rule as Record<string, unknown>[];
    assert.deepEqual(sse[0]!.apply_server_side_encryption_by_default, { sse_algorithm: "aws:kms", kms_master_key_id: KMS_KEY });
  });

  test("the consumer's async invocations retry as configured and then go to the failure bucket", () => {
    const consumer = fn(tf, DEFAULT_CONSUMER_NAME);
    const expected = (t: TfJson, retries: number, age: number) => ({
      function_name: fn(t, DEFAULT_CONSUMER_NAME).lambda.ref("function_name"),
      maximum_retry_attempts: retries,
      maximum_event_age_in_seconds: age,
      destination_config: { on_failure: { destination: t.within("failure_records", S3Bucket.tfResourceType).ref("arn") } },
      depends_on: [`${IamRolePolicy.tfResourceType}.${fn(t, DEFAULT_CONSUMER_NAME).policyName}`],
    });
    assert.deepEqual(tf.only(LambdaFunctionEventInvokeConfig.tfResourceType).block, expected(tf, 2, 21_600));
    assert.ok(consumer.policyName);
    const custom = variant({ maxRetryAttempts: 0, maxEventAgeSeconds: 60 }).tf;
    assert.deepEqual(custom.only(LambdaFunctionEventInvokeConfig.tfResourceType).block, expected(custom, 0, 60));
  });
});

describe("alarms", () => {
  const alarmsOf = (t: TfJson) =>
    Object.fromEntries(Object.values(t.all(CloudwatchMetricAlarm.tfResourceType)).map((a) => [a.alarm_name as string, a]));

  test("six alarms on the consumer and its failure records, without a topic by default", () => {
    const alarms = alarmsOf(tf);
    const lambda = (metric: string, statistic: string, period: number, threshold: number) => ({
      namespace: "AWS/Lambda",
      dimensions: { FunctionName: DEFAULT_CONSUMER_NAME },
      metric_name: metric,
      statistic,
      period,
      threshold,
      comparison_operator: "GreaterThanOrEqualToThreshold",
    });
    const pick = (a: Record<string, unknown>) =>
      Object.fromEntries(["namespace", "dimensions", "metric_name", "statistic", "period", "threshold", "comparison_operator"].map((k) => [k, a[k]]));
    const records = tf.within("failure_records", S3Bucket.tfResourceType).ref("bucket");
    assert.deepEqual(Object.fromEntries(Object.entries(alarms).map(([name, a]) => [name, pick(a)])), {
      [`${DEFAULT_CONSUMER_NAME}-failed-events`]: lambda("AsyncEventsDropped", "Sum", 60, 1),
      [`${DEFAULT_CONSUMER_NAME}-failure-records-waiting`]: {
        namespace: "AWS/S3",
        dimensions: { BucketName: records, StorageType: "AllStorageTypes" },
        metric_name: "NumberOfObjects",
        statistic: "Maximum",
        period: 86_400,
        threshold: 0,
        comparison_operator: "GreaterThanThreshold",
      },
      [`${DEFAULT_CONSUMER_NAME}-destination-delivery-failures`]: lambda("DestinationDeliveryFailures", "Sum", 60, 1),
      [`${DEFAULT_CONSUMER_NAME}-errors`]: lambda("Errors", "Sum", 300, 1),
      [`${DEFAULT_CONSUMER_NAME}-throttles`]: lambda("Throttles", "Sum", 300, 1),
      [`${DEFAULT_CONSUMER_NAME}-event-age`]: lambda("AsyncEventAge", "Maximum", 60, 900_000),
    });
    for (const a of Object.values(alarms)) {
      assert.deepEqual([a.evaluation_periods, a.treat_missing_data, a.alarm_actions, a.ok_actions], [1, "notBreaching", undefined, undefined]);
      assert.ok(String(a.alarm_description).length > 20);
    }
    assert.match(String(alarms[`${DEFAULT_CONSUMER_NAME}-failed-events`]!.alarm_description), /aws\/lambda\/async\/AsynchronousFunction\/.*npm run redrive/);
    assert.deepEqual(tf.all(SnsTopic.tfResourceType), {});
  });

  test("they notify an existing topic, or one the stack creates; the event age threshold is configurable; they can be off", () => {
    const topicArn = "arn:aws:sns:us-east-1:123456789012:ops";
    for (const a of Object.values(alarmsOf(variant({ alarmTopicArn: topicArn }).tf))) {
      assert.deepEqual([a.alarm_actions, a.ok_actions], [[topicArn], [topicArn]]);
    }
    const created = variant({ createAlarmTopic: true, alarmEventAgeSeconds: 120 }).tf;
    const topic = created.only(SnsTopic.tfResourceType);
    assert.deepEqual(topic.block, { name: `${DEFAULT_CONSUMER_NAME}-alarms` });
    for (const a of Object.values(alarmsOf(created))) assert.deepEqual(a.alarm_actions, [topic.ref("arn")]);
    assert.equal(alarmsOf(created)[`${DEFAULT_CONSUMER_NAME}-event-age`]!.threshold, 120_000);
    assert.equal(created.json.output!.alarm_topic_arn!.value, topic.ref("arn"));
    const off = variant({ alarms: false }).tf;
    assert.deepEqual([off.all(CloudwatchMetricAlarm.tfResourceType), off.all(SnsTopic.tfResourceType)], [{}, {}]);
  });
});

describe("outputs and references", () => {
  test("outputs name the bucket, both functions and the failure bucket", () => {
    const sender = fn(tf, DEFAULT_SENDER_NAME).lambda;
    const consumer = fn(tf, DEFAULT_CONSUMER_NAME).lambda;
    const values = Object.fromEntries(Object.entries(tf.json.output!).map(([k, v]) => [k, v.value]));
    assert.deepEqual(values, {
      bucket_name: tf.within("payloads", S3Bucket.tfResourceType).ref("bucket"),
      sender_function_name: sender.ref("function_name"),
      sender_function_arn: sender.ref("arn"),
      consumer_function_name: consumer.ref("function_name"),
      consumer_function_arn: consumer.ref("arn"),
      failure_bucket_name: tf.within("failure_records", S3Bucket.tfResourceType).ref("bucket"),
    });
  });

  test("every reference points at a declared resource or data source", () => {
    for (const t of [tf, variant({ kmsKeyArn: KMS_KEY, stateBucket: "my-tf-state" }).tf]) {
      const references = [...t.text.matchAll(/\$\{(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z0-9_]+\}/g)];
      assert.ok(references.length > 20);
      for (const [expression, data, type, name] of references) {
        assert.ok(t.all(type!, data ? "data" : "resource")[name!], `${expression} points to nothing`);
      }
      for (const dependsOn of [...t.text.matchAll(/"(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)"/g)]) {
        assert.ok(t.all(dependsOn[1]!)[dependsOn[2]!], `depends_on ${dependsOn[0]} points to nothing`);
      }
    }
  });
});

describe("idempotency table", () => {
  test("one pay-per-request table keyed by the record id, expiring records through TTL, named after the consumer", () => {
    const { block } = tf.only(DynamodbTable.tfResourceType);
    assert.deepEqual(
      { name: block.name, billing: block.billing_mode, hashKey: block.hash_key, rangeKey: block.range_key, attribute: block.attribute, ttl: block.ttl },
      {
        name: `${DEFAULT_CONSUMER_NAME}-idempotency`,
        billing: "PAY_PER_REQUEST",
        hashKey: IDEMPOTENCY_RECORD.key,
        rangeKey: undefined,
        attribute: [{ name: IDEMPOTENCY_RECORD.key, type: "S" }],
        ttl: { attribute_name: IDEMPOTENCY_RECORD.expiry, enabled: true },
      },
    );
    assert.equal(variant({ consumerFunctionName: "receive" }).tf.only(DynamodbTable.tfResourceType).block.name, "receive-idempotency");
  });

  test("only the consumer may touch it, with exactly the item actions Powertools sends", () => {
    const tableArn = tf.only(DynamodbTable.tfResourceType).ref("arn");
    assert.deepEqual([...IDEMPOTENCY_ACTIONS], ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    const grants = (name: string) => fn(tf, name).statements.filter((st) => JSON.stringify(st).includes("dynamodb"));
    assert.deepEqual(grants(DEFAULT_CONSUMER_NAME), [statement("ProcessPayloadsOnce", [...IDEMPOTENCY_ACTIONS], [tableArn])]);
    assert.deepEqual(grants(DEFAULT_SENDER_NAME), []);
  });

  test("the consumer learns the table's name and window from the contract's variables", () => {
    const env = (fn(tf, DEFAULT_CONSUMER_NAME).lambda.block.environment as { variables: Record<string, string> }).variables;
    assert.equal(env.IDEMPOTENCY_TABLE, `${DEFAULT_CONSUMER_NAME}-idempotency`);
    assert.equal(env.IDEMPOTENCY_EXPIRES_AFTER_SECONDS, String(DEFAULTS.idempotencyExpiresAfterSeconds));
    const custom = variant({ idempotencyExpiresAfterSeconds: 172_800, timeout: 60, sdkRequestTimeoutMs: 8000 }).tf;
    const customEnv = (fn(custom, DEFAULT_CONSUMER_NAME).lambda.block.environment as { variables: Record<string, string> }).variables;
    assert.equal(customEnv.IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "172800");
    assert.equal(customEnv.SDK_REQUEST_TIMEOUT_MS, "8000");
    assert.equal((fn(custom, DEFAULT_SENDER_NAME).lambda.block.environment as { variables: Record<string, string> }).variables.SDK_REQUEST_TIMEOUT_MS, "8000");
  });
});
