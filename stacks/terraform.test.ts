/**
 * The synthesized stack through real Terraform and the real hashicorp/aws provider, applied to
 * moto_server (an independent AWS emulator) on loopback: init from a local plugin mirror,
 * validate, plan, apply with the S3 backend and its lockfile, outputs checked against the emulator
 * with the AWS SDK, an empty second plan, the plans of a code change and a settings change, and
 * destroy.
 *
 * The provider version is pinned to the mirror's in an override file (see local/terraform.ts):
 * an offline machine has only that version. This proves the JSON is valid Terraform that the real
 * provider orders, creates, reads back without drift and destroys; it cannot prove what only AWS
 * shows (IAM evaluation, the S3 test event, KMS, the Lambda runtime itself, the pinned 6.x schema).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetRolePolicyCommand, IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import {
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListFunctionsCommand,
} from "@aws-sdk/client-lambda";
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand, ListTopicsCommand, SNSClient } from "@aws-sdk/client-sns";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { consumerEnvironment, DEFAULT_CONSUMER_NAME, DEFAULTS, DEFAULT_SENDER_NAME, FAILURE_RECORD_PREFIX, IDEMPOTENCY_RECORD, NOTIFICATION_EVENTS, senderEnvironment } from "../lib/contract.ts";
import { failureRecordKey } from "../lib/failure-records.ts";
import { findExecutable } from "../local/executables.ts";
import { MOTO_INSTALL_HINT, MOTO_SERVER, startMotoServer, type MotoServer } from "../local/moto-server.ts";
import { findTerraformTools, TerraformWorkdir, type PlanResult } from "../local/terraform.ts";
import { DEFAULT_STACK_NAME, idempotencyTableName, loadStackConfig, pipelineSettings, STACK_DEFAULTS } from "./config.ts";
import { IDEMPOTENCY_ACTIONS } from "./idempotency-table.ts";
import { projectCopyBase, stackDirOf, synthIn } from "./project-copy.ts";

const STATE_BUCKET = "terraform-state";
const STATE_KEY = `${DEFAULT_STACK_NAME}/terraform.tfstate`;
// The alarm topic is created so that it, too, goes through the provider and the emulator.
const SETTINGS = { STACK_STATE_BUCKET: STATE_BUCKET, STACK_CREATE_ALARM_TOPIC: "true" };

const { tools, missing } = await findTerraformTools();
const moto = findExecutable(MOTO_SERVER);
if (!moto) missing.push(`${MOTO_SERVER} is not on PATH: ${MOTO_INSTALL_HINT}`);
const skip = missing.length > 0 ? `real-terraform suite skipped: ${missing.join("; ")}` : false;
if (skip) console.log(`# ${skip}`);

describe("the synthesized stack through real terraform, against moto_server", { skip }, () => {
  let server: MotoServer;
  let copies: ReturnType<typeof projectCopyBase>;
  let work: TerraformWorkdir;
  let base: string;
  /**
   * Working directories of the variants (synthesized and initialized while the base stack
   * applies, mostly waiting), planned against the applied state beside the second plan.
   */
  let variants: Promise<{ codeChange: TerraformWorkdir; memoryChange: TerraformWorkdir }>;
  let firstPlan: Promise<PlanResult>;
  let plans: { second: Promise<PlanResult>; codeChange: Promise<PlanResult>; memoryChange: Promise<PlanResult> };
  let outputs: Record<string, string>;
  let clients: {
    s3: S3Client;
    lambda: LambdaClient;
    iam: IAMClient;
    sqs: SQSClient;
    logs: CloudWatchLogsClient;
    cloudwatch: CloudWatchClient;
    sns: SNSClient;
    dynamodb: DynamoDBClient;
  };

  before(async () => {
    // The emulator starts while the project is copied and synthesized.
    copies = projectCopyBase("terraform-");
    const a = copies.copy("a");
    const synthesized = synthIn(a, SETTINGS);
    synthesized.catch(() => {});
    server = await startMotoServer(moto);
    const aws = { endpoint: server.endpoint, region: STACK_DEFAULTS.region, credentials: { accessKeyId: "test", secretAccessKey: "test" } };
    clients = {
      s3: new S3Client({ ...aws, forcePathStyle: true }),
      lambda: new LambdaClient(aws),
      iam: new IAMClient(aws),
      sqs: new SQSClient(aws),
      logs: new CloudWatchLogsClient(aws),
      cloudwatch: new CloudWatchClient(aws),
      sns: new SNSClient(aws),
      dynamodb: new DynamoDBClient(aws),
    };
    await clients.s3.send(new CreateBucketCommand({ Bucket: STATE_BUCKET }));

    await synthesized;
    base = stackDirOf(a);
    work = new TerraformWorkdir(path.join(copies.base, "work"), tools!, server);
    await work.load(base, { localState: false });

    variants = (async () => {
      const b = copies.copy("b");
      appendFileSync(path.join(b, "handlers", "consumer.ts"), '\nconsole.debug("a consumer-only code change");\n');
      const memoryOut = path.join(a, "out-memory");
      await Promise.all([synthIn(b, SETTINGS), synthIn(a, { ...SETTINGS, STACK_MEMORY_SIZE: "1024", CDKTF_OUTDIR: memoryOut })]);
      const workdir = async (name: string, stackDir: string) => {
        const w = new TerraformWorkdir(path.join(copies.base, name), tools!, server);
        await w.load(stackDir, { localState: false });
        await w.init({ s3Backend: true });
        return w;
      };
      const [codeChange, memoryChange] = await Promise.all([
        workdir("work-code-change", stackDirOf(b)),
        workdir("work-memory-change", path.join(memoryOut, "stacks", DEFAULT_STACK_NAME)),
      ]);
      return { codeChange, memoryChange };
    })();
    variants.catch(() => {}); // awaited by the tests that use them
  });

  after(async () => {
    await variants?.catch(() => {});
    if (plans) await Promise.allSettled(Object.values(plans));
    if (firstPlan) await Promise.allSettled([firstPlan]);
    await server?.stop();
    if (copies) await rm(copies.base, { recursive: true, force: true });
  });

  test("init takes the provider from the local mirror and the S3 backend from the emulator; validate passes", async () => {
    const init = await work.init({ s3Backend: true });
    assert.match(init.stdout, new RegExp(`Installing hashicorp/aws v${tools!.mirror.version.replace(/\./g, "\\.")}`));
    assert.match(init.stdout, /Successfully configured the backend "s3"/);
    // Both only read the configuration, so the plan need not wait for validate's provider start.
    firstPlan = work.plan(["-out=create.tfplan"]);
    firstPlan.catch(() => {});
    assert.match((await work.run(["validate", "-no-color"])).stdout, /Success! The configuration is valid/);
  });

  test("the first plan creates every resource of the stack and nothing else", async () => {
    const { code, changes } = await firstPlan;
    assert.equal(code, 2);
    const stack = JSON.parse(await readFile(path.join(base, "cdk.tf.json"), "utf8")) as Record<"resource" | "data", Record<string, object>>;
    const addresses = (kind: "resource" | "data") =>
      Object.entries(stack[kind]).flatMap(([type, blocks]) => Object.keys(blocks).map((name) => `${kind === "data" ? "data." : ""}${type}.${name}`));
    const creates = Object.keys(changes).filter((a) => changes[a] === "create");
    assert.deepEqual(creates.sort(), addresses("resource").sort());
    // Policy documents that name resources still to be created can only be read once they exist.
    const rest = Object.keys(changes).filter((a) => changes[a] !== "create");
    assert.ok(rest.every((a) => changes[a] === "read" && addresses("data").includes(a)), JSON.stringify(changes));
  });

  test("apply creates it, holding the S3 state lock meanwhile, and stores the state in the bucket", async () => {
    const lockSeen = watchForLock(clients.s3);
    try {
      await work.run(["apply", "-no-color", "-input=false", "create.tfplan"]);
    } finally {
      lockSeen.stop();
    }
    assert.ok(lockSeen.keys.has(`${STATE_KEY}.tflock`), `lockfile seen during apply: ${[...lockSeen.keys].join(", ") || "none"}`);
    const keys = await listKeys(clients.s3, STATE_BUCKET);
    assert.deepEqual(keys, [STATE_KEY], "the state, and no lock left behind");
    outputs = Object.fromEntries(
      Object.entries(JSON.parse((await work.run(["output", "-json"])).stdout) as Record<string, { value: string }>).map(([k, v]) => [k, v.value]),
    );
    // Plans only read the state; without the lock (as pull request plans run) the three run side
    // by side (with it, the S3 lockfile refuses the second: PreconditionFailed). The tests below
    // each check one. The change plans are not refreshed: the second plan compares the state with
    // the emulator; they show what the change itself does.
    const { codeChange, memoryChange } = await variants;
    plans = {
      second: work.plan(["-lock=false"]),
      codeChange: codeChange.plan(["-lock=false", "-refresh=false"]),
      memoryChange: memoryChange.plan(["-lock=false", "-refresh=false"]),
    };
    for (const p of Object.values(plans)) p.catch(() => {});
  });

  test("the outputs name what was created, and the emulator holds it as configured", async (t) => {
    assert.deepEqual(Object.keys(outputs).sort(), [
      "alarm_topic_arn",
      "bucket_name",
      "consumer_function_arn",
      "consumer_function_name",
      "failure_bucket_name",
      "sender_function_arn",
      "sender_function_name",
    ]);
    const bucket = outputs.bucket_name!;
    assert.equal(outputs.sender_function_name, DEFAULT_SENDER_NAME);
    assert.equal(outputs.consumer_function_name, DEFAULT_CONSUMER_NAME);
    const config = loadStackConfig({ tryGetContext: () => undefined });
    const settings = pipelineSettings(config, bucket);
    const failureBucket = outputs.failure_bucket_name!;
    assert.ok(failureBucket.startsWith(config.failureBucketPrefix), failureBucket);

    await t.test("bucket: public access blocked, encrypted, TLS only, self-cleaning, notifying the consumer", async () => {
      const { PublicAccessBlockConfiguration: block } = await clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }));
      assert.deepEqual(block, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
      const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      assert.equal(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
      const policy = JSON.parse((await clients.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!);
      assert.deepEqual(policy.Statement, [
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [`arn:aws:s3:::${bucket}/*`, `arn:aws:s3:::${bucket}`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ]);
      const { Rules: rules } = await clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
      assert.deepEqual(
        rules?.map((r) => ({ id: r.ID, status: r.Status, prefix: r.Filter?.Prefix, days: r.Expiration?.Days, abort: r.AbortIncompleteMultipartUpload?.DaysAfterInitiation })),
        [
          { id: "expire-leftover-payloads", status: "Enabled", prefix: config.payloadPrefix, days: config.payloadExpirationDays, abort: undefined },
          { id: "abort-incomplete-multipart-uploads", status: "Enabled", prefix: "", days: undefined, abort: 1 },
        ],
      );
      const notification = await clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
      assert.deepEqual(
        notification.LambdaFunctionConfigurations?.map((c) => ({
          arn: c.LambdaFunctionArn,
          events: c.Events,
          // S3 treats filter rule names case-insensitively and moto answers in lower case.
          rules: c.Filter?.Key?.FilterRules?.map((r) => [r.Name?.toLowerCase(), r.Value]),
        })),
        [{ arn: outputs.consumer_function_arn, events: [...NOTIFICATION_EVENTS], rules: [["prefix", config.payloadPrefix]] }],
      );
    });

    await t.test("failure bucket: protected like the payloads, records expire, and nothing it holds notifies anyone", async () => {
      const { PublicAccessBlockConfiguration: block } = await clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: failureBucket }));
      assert.deepEqual(block, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
      const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: failureBucket }));
      assert.equal(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, "AES256");
      const policy = JSON.parse((await clients.s3.send(new GetBucketPolicyCommand({ Bucket: failureBucket }))).Policy!);
      assert.deepEqual(policy.Statement.map((s: { Sid: string; Effect: string; Resource: string[] }) => [s.Sid, s.Effect, s.Resource]), [
        ["DenyInsecureTransport", "Deny", [`arn:aws:s3:::${failureBucket}/*`, `arn:aws:s3:::${failureBucket}`]],
      ]);
      const { Rules: rules } = await clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: failureBucket }));
      assert.deepEqual(
        rules?.map((r) => ({ id: r.ID, status: r.Status, prefix: r.Filter?.Prefix, days: r.Expiration?.Days })),
        [
          { id: "expire-failure-records", status: "Enabled", prefix: FAILURE_RECORD_PREFIX, days: config.failureRecordExpirationDays },
          { id: "abort-incomplete-multipart-uploads", status: "Enabled", prefix: "", days: undefined },
        ],
      );
      assert.ok(config.payloadExpirationDays > config.failureRecordExpirationDays, "payload objects outlive their records");
      const notification = await clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: failureBucket }));
      assert.deepEqual(
        [notification.LambdaFunctionConfigurations ?? [], notification.QueueConfigurations ?? [], notification.TopicConfigurations ?? []],
        [[], [], []],
      );
    });

    await t.test("alarms: on the consumer's metrics and the failure bucket, notifying the created topic", async () => {
      const topicArn = outputs.alarm_topic_arn!;
      const topic = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
      assert.equal(topic.Attributes?.TopicArn, topicArn);
      assert.ok(topicArn.endsWith(`:${DEFAULT_CONSUMER_NAME}-alarms`), topicArn);
      const { MetricAlarms: alarms = [] } = await clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${DEFAULT_CONSUMER_NAME}-` }));
      const fn = [{ Name: "FunctionName", Value: DEFAULT_CONSUMER_NAME }];
      assert.deepEqual(
        Object.fromEntries(
          alarms.map((a) => [
            a.AlarmName,
            [a.Namespace, a.MetricName, a.Statistic, a.Period, a.ComparisonOperator, a.Threshold, a.Dimensions?.map((d) => ({ Name: d.Name, Value: d.Value })).sort((x, y) => x.Name!.localeCompare(y.Name!))],
          ]),
        ),
        {
          [`${DEFAULT_CONSUMER_NAME}-failed-events`]: ["AWS/Lambda", "AsyncEventsDropped", "Sum", 60, "GreaterThanOrEqualToThreshold", 1, fn],
          [`${DEFAULT_CONSUMER_NAME}-failure-records-waiting`]: [
            "AWS/S3",
            "NumberOfObjects",
            "Maximum",
            86_400,
            "GreaterThanThreshold",
            0,
            [{ Name: "BucketName", Value: failureBucket }, { Name: "StorageType", Value: "AllStorageTypes" }],
          ],
          [`${DEFAULT_CONSUMER_NAME}-destination-delivery-failures`]: ["AWS/Lambda", "DestinationDeliveryFailures", "Sum", 60, "GreaterThanOrEqualToThreshold", 1, fn],
          [`${DEFAULT_CONSUMER_NAME}-errors`]: ["AWS/Lambda", "Errors", "Sum", 300, "GreaterThanOrEqualToThreshold", 1, fn],
          [`${DEFAULT_CONSUMER_NAME}-throttles`]: ["AWS/Lambda", "Throttles", "Sum", 300, "GreaterThanOrEqualToThreshold", 1, fn],
          [`${DEFAULT_CONSUMER_NAME}-event-age`]: ["AWS/Lambda", "AsyncEventAge", "Maximum", 60, "GreaterThanOrEqualToThreshold", config.alarmEventAgeSeconds * 1000, fn],
        },
      );
      for (const a of alarms) assert.deepEqual([a.AlarmActions, a.OKActions, a.TreatMissingData], [[topicArn], [topicArn], "notBreaching"], a.AlarmName);
    });

    await t.test("functions: runtime, architecture, memory, timeout, handler and the contract's environment", async () => {
      for (const [name, environment] of [
        [DEFAULT_SENDER_NAME, senderEnvironment(settings)],
        [DEFAULT_CONSUMER_NAME, consumerEnvironment(settings)],
      ] as const) {
        const fn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
        assert.deepEqual(
          { runtime: fn.Runtime, architectures: fn.Architectures, memory: fn.MemorySize, storage: fn.EphemeralStorage?.Size, timeout: fn.Timeout, handler: fn.Handler, env: fn.Environment?.Variables },
          { runtime: config.runtime, architectures: [config.architecture], memory: config.memorySize, storage: 512, timeout: config.timeout, handler: "index.handler", env: environment },
          name,
        );
      }
    });

    await t.test("the consumer's asynchronous retries end in the failure bucket; S3 of this account may invoke it", async () => {
      const invoke = await clients.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: DEFAULT_CONSUMER_NAME }));
      assert.equal(invoke.MaximumRetryAttempts, config.maxRetryAttempts);
      assert.equal(invoke.MaximumEventAgeInSeconds, config.maxEventAgeSeconds);
      assert.equal(invoke.DestinationConfig?.OnFailure?.Destination, `arn:aws:s3:::${failureBucket}`);
      const statements = JSON.parse((await clients.lambda.send(new GetPolicyCommand({ FunctionName: DEFAULT_CONSUMER_NAME }))).Policy!).Statement;
      assert.deepEqual(
        statements.map((s: { Sid: string; Principal: unknown; Condition: unknown }) => ({ sid: s.Sid, principal: s.Principal, condition: s.Condition })),
        [
          {
            sid: "AllowS3ObjectCreated",
            principal: { Service: "s3.amazonaws.com" },
            condition: { StringEquals: { "AWS:SourceAccount": accountOf(outputs.consumer_function_arn!) }, ArnLike: { "AWS:SourceArn": `arn:aws:s3:::${bucket}` } },
          },
        ],
      );
    });

    const tableName = idempotencyTableName(config);
    const { Table: table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    const tableArn = table?.TableArn;

    await t.test("idempotency table: keyed by the record id, pay per request, records expire through TTL", async () => {
      assert.deepEqual(
        {
          status: table?.TableStatus,
          keys: table?.KeySchema,
          attributes: table?.AttributeDefinitions,
          billing: table?.BillingModeSummary?.BillingMode,
        },
        {
          status: "ACTIVE",
          keys: [{ AttributeName: IDEMPOTENCY_RECORD.key, KeyType: "HASH" }],
          attributes: [{ AttributeName: IDEMPOTENCY_RECORD.key, AttributeType: "S" }],
          billing: "PAY_PER_REQUEST",
        },
      );
      const { TimeToLiveDescription: ttl } = await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      assert.deepEqual(ttl, { TimeToLiveStatus: "ENABLED", AttributeName: IDEMPOTENCY_RECORD.expiry });
    });

    await t.test("roles: each function's policy grants exactly its statements", async () => {
      const payloads = `arn:aws:s3:::${bucket}/${config.payloadPrefix}*`;
      const expected = {
        [DEFAULT_SENDER_NAME]: {
          WritePayloads: [["s3:PutObject"], payloads],
          InvokeConsumer: [["lambda:InvokeFunction"], outputs.consumer_function_arn],
        },
        [DEFAULT_CONSUMER_NAME]: {
          ReadAndDeletePayloads: [["s3:DeleteObject", "s3:GetObject"], payloads],
          TellMissingPayloads: [["s3:ListBucket"], `arn:aws:s3:::${bucket}`],
          WriteFailureRecords: [["s3:PutObject"], `arn:aws:s3:::${failureBucket}/*`],
          ListFailureRecords: [["s3:ListBucket"], `arn:aws:s3:::${failureBucket}`],
          ProcessPayloadsOnce: [[...IDEMPOTENCY_ACTIONS], tableArn],
        },
      };
      for (const [name, grants] of Object.entries(expected)) {
        const role = (await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }))).Role!.split("/").pop()!;
        const document = (await clients.iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: "least-privilege" }))).PolicyDocument!;
        const statements = JSON.parse(decodeURIComponent(document)).Statement as { Sid: string; Action: string | string[]; Resource: string }[];
        const granted = Object.fromEntries(
          statements.filter((s) => s.Sid !== "WriteOwnLogs").map((s) => [s.Sid, [[s.Action].flat().sort(), s.Resource]]),
        );
        assert.deepEqual(granted, grants, name);
        assert.ok(statements.some((s) => s.Sid === "WriteOwnLogs" && String(s.Resource).includes(`log-group:/aws/lambda/${name}:*`)), `${name} writes its own logs`);
      }
    });
  });

  test("a second plan, refreshed from the emulator, shows no changes", async () => {
    assert.deepEqual(await plans.second, { code: 0, changes: {} });
  });

  test("a consumer-only code change plans as exactly one in-place update: the consumer function", async () => {
    assert.deepEqual((await plans.codeChange).changes, { [functionAddress(base, DEFAULT_CONSUMER_NAME)]: "update" });
  });

  test("a memory size change updates both functions in place and nothing else", async () => {
    assert.deepEqual((await plans.memoryChange).changes, {
      [functionAddress(base, DEFAULT_SENDER_NAME)]: "update",
      [functionAddress(base, DEFAULT_CONSUMER_NAME)]: "update",
    });
  });

  test("destroy stops at buckets that still hold a payload or a failure record, and finishes once they are emptied the README's way", async () => {
    const bucket = outputs.bucket_name!;
    const failureBucket = outputs.failure_bucket_name!;
    // moto does not evaluate aws:SecureTransport, so under the TLS-only policy it refuses every
    // object request, even over TLS; the leftovers go in with the policy briefly lifted.
    const leftovers: [string, string][] = [
      [bucket, `${DEFAULTS.prefix}2026/12/01/left-over.json`],
      [failureBucket, failureRecordKey(DEFAULT_CONSUMER_NAME, new Date("2026-12-01T10:11:12Z"), "00000000-0000-4000-8000-000000000000")],
    ];
    for (const [b, key] of leftovers) {
      const { Policy: policy } = await clients.s3.send(new GetBucketPolicyCommand({ Bucket: b }));
      await clients.s3.send(new DeleteBucketPolicyCommand({ Bucket: b }));
      await clients.s3.send(new PutObjectCommand({ Bucket: b, Key: key, Body: "{}" }));
      await clients.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policy }));
    }

    // Not refreshed: the emulator was compared with the state by the plan above.
    const refused = await work.run(["destroy", "-no-color", "-input=false", "-auto-approve", "-refresh=false"], [1]);
    assert.match(refused.stderr, /BucketNotEmpty/);
    // Terraform destroyed everything else first, the bucket policies and alarms included.
    assert.deepEqual(
      (await work.run(["state", "list"])).stdout.trim().split("\n").sort(),
      Object.keys(resourcesOf(base, "aws_s3_bucket")).map((name) => `aws_s3_bucket.${name}`).sort(),
    );

    await emptyBucket(bucket, server.endpoint, clients.s3);
    await emptyBucket(failureBucket, server.endpoint, clients.s3);
    await work.run(["destroy", "-no-color", "-input=false", "-auto-approve", "-refresh=false"]);

    assert.deepEqual(
      {
        buckets: ((await clients.s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name),
        functions: (await clients.lambda.send(new ListFunctionsCommand({}))).Functions ?? [],
        roles: (await clients.iam.send(new ListRolesCommand({}))).Roles ?? [],
        queues: (await clients.sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [],
        logGroups: (await clients.logs.send(new DescribeLogGroupsCommand({}))).logGroups ?? [],
        alarms: (await clients.cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? [],
        topics: (await clients.sns.send(new ListTopicsCommand({}))).Topics ?? [],
        tables: (await clients.dynamodb.send(new ListTablesCommand({}))).TableNames ?? [],
      },
      { buckets: [STATE_BUCKET], functions: [], roles: [], queues: [], logGroups: [], alarms: [], topics: [], tables: [] },
      "only the state bucket is left",
    );
    assert.equal((await work.run(["state", "list"])).stdout.trim(), "", "the state holds nothing");
  });
});

function resourcesOf(stackDir: string, type: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8")).resource[type] ?? {};
}

/** The Terraform address of the function with this name in a synthesized stack. */
function functionAddress(stackDir: string, functionName: string): string {
  const functions = resourcesOf(stackDir, "aws_lambda_function");
  const name = Object.keys(functions).find((n) => functions[n]!.function_name === functionName);
  assert.ok(name, `no aws_lambda_function named ${functionName}`);
  return `aws_lambda_function.${name}`;
}

function accountOf(arn: string): string {
  return arn.split(":")[4]!;
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
}

/** Polls the state bucket while Terraform runs, to see the lockfile that `use_lockfile` writes. */
function watchForLock(s3: S3Client): { keys: Set<string>; stop: () => void } {
  const keys = new Set<string>();
  let running = true;
  void (async () => {
    while (running) {
      for (const key of await listKeys(s3, STATE_BUCKET).catch(() => [])) keys.add(key);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { keys, stop: () => void (running = false) };
}

/** The README's `aws s3 rm s3://BUCKET --recursive`, with the AWS CLI when there is one. */
async function emptyBucket(bucket: string, endpoint: string, s3: S3Client): Promise<void> {
  const cli = findExecutable("aws");
  if (cli) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
    await promisify(execFile)(cli, ["s3", "rm", `s3://${bucket}`, "--recursive", "--endpoint-url", endpoint], {
      env: { ...env, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_DEFAULT_REGION: STACK_DEFAULTS.region },
    });
  } else {
    const keys = await listKeys(s3, bucket);
    if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  }
  assert.deepEqual(await listKeys(s3, bucket), [], "the bucket is empty");
}
