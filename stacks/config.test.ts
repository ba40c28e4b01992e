import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { App } from "cdktf";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, DEFAULTS, EVENT_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import {
  bucketNameViolations,
  cdktfJsonContext,
  ConfigError,
  DEFAULT_STACK_NAME,
  loadStackConfig,
  pipelineSettings,
  SETTINGS,
  STACK_DEFAULTS,
  type ConfigIssue,
  type SettingName,
} from "./config.ts";
import { configFrom } from "./test-support.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "stack-config-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function issuesOf(context: Record<string, unknown>, env: Record<string, string> = {}): readonly ConfigIssue[] {
  try {
    configFrom(context, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.issues;
  }
  assert.fail(`expected ${JSON.stringify(context)} ${JSON.stringify(env)} to be rejected`);
}

/** Exactly one issue, for that field and value, whose message says what is allowed. */
function assertRejected(field: SettingName, value: unknown, allowed: RegExp): void {
  const issues = issuesOf({ [field]: value });
  assert.equal(issues.length, 1, `${field} = ${JSON.stringify(value)}: ${JSON.stringify(issues)}`);
  const [issue] = issues;
  assert.equal(issue!.field, field);
  assert.deepEqual(issue!.value, value);
  assert.equal(issue!.source, `context key "${SETTINGS[field].context}"`);
  assert.match(issue!.allowed, allowed);
  const message = new ConfigError(issues).message;
  assert.ok(message.includes(field) && message.includes(JSON.stringify(value)) && message.includes(issue!.allowed), message);
}

describe("defaults", () => {
  test("an empty context and environment give the documented defaults", () => {
    assert.deepEqual(configFrom(), {
      stackName: DEFAULT_STACK_NAME,
      region: "us-east-1",
      defaultTags: { Project: "lambda-s3-async-lambda" },
      senderFunctionName: DEFAULT_SENDER_NAME,
      consumerFunctionName: DEFAULT_CONSUMER_NAME,
      bucketName: undefined,
      bucketPrefix: "lambda-s3-async-lambda-",
      forceDestroy: false,
      kmsKeyArn: undefined,
      payloadPrefix: DEFAULTS.prefix,
      payloadExpirationDays: 15,
      inlineLimitBytes: EVENT_PAYLOAD_LIMIT_BYTES,
      alwaysS3: DEFAULTS.alwaysS3,
      compressInline: DEFAULTS.compressInline,
      deleteAfterProcessing: DEFAULTS.deleteAfterProcessing,
      runtime: "nodejs22.x",
      architecture: "arm64",
      memorySize: 512,
      consumerEphemeralStorageMb: 512,
      timeout: 30,
      logRetentionDays: 14,
      maxRetryAttempts: 2,
      maxEventAgeSeconds: 21_600,
      idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
      sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
      sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
      stateBucket: undefined,
      stateKey: "lambda-s3-async-lambda/terraform.tfstate",
      stateRegion: "us-east-1",
      localStatePath: "../../../terraform.lambda-s3-async-lambda.tfstate",
      failureBucketName: undefined,
      failureBucketPrefix: "lambda-s3-async-lambda-failures-",
      failureRecordExpirationDays: 14,
      alarms: true,
      alarmTopicArn: undefined,
      createAlarmTopic: false,
      alarmEventAgeSeconds: 900,
    });
    assert.equal(STACK_DEFAULTS.region, "us-east-1");
  });

  test("the stack name drives the generated bucket prefix and the state locations", () => {
    const c = configFrom({ stackName: "Payments_Prod", region: "eu-west-1" });
    assert.equal(c.bucketPrefix, "payments-prod-");
    assert.equal(c.stateKey, "Payments_Prod/terraform.tfstate");
    assert.equal(c.stateRegion, "eu-west-1");
    assert.equal(c.localStatePath, "../../../terraform.Payments_Prod.tfstate");
    const long = configFrom({ stackName: `a${"-b".repeat(30)}` }).bucketPrefix;
    assert.ok(long.length <= 37 && long.endsWith("-") && !long.endsWith("--"), long);
  });

  test("pipelineSettings maps the config onto the contract's PipelineSettings", () => {
    const c = configFrom({ senderFunctionName: "s", consumerFunctionName: "c", payloadPrefix: "p/", inlineLimitBytes: 5, alwaysS3: true, compressInline: false, deleteAfterProcessing: false });
    assert.deepEqual(pipelineSettings(c, "bucket-x"), {
      senderName: "s",
      consumerName: "c",
      bucket: "bucket-x",
      prefix: "p/",
      inlineLimitBytes: 5,
      alwaysS3: true,
      compressInline: false,
      deleteAfterProcessing: false,
      idempotencyTable: "c-idempotency",
      idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
      sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
      sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
    });
  });
});

describe("sources and precedence", () => {
  test("context values of the JSON type or as strings are accepted", () => {
    const fromJson = configFrom({ memorySize: 1024, alwaysS3: true, defaultTags: { a: "b" }, logRetentionDays: 30 });
    const fromStrings = configFrom({ memorySize: "1024", alwaysS3: "true", defaultTags: '{"a":"b"}', logRetentionDays: "30" });
    assert.deepEqual(fromStrings, fromJson);
    assert.deepEqual([fromJson.memorySize, fromJson.alwaysS3, fromJson.defaultTags, fromJson.logRetentionDays], [1024, true, { a: "b" }, 30]);
  });

  test("a non-empty environment variable beats the context; an empty one falls through; null context means unset", () => {
    const env = { STACK_MEMORY_SIZE: "2048", STACK_REGION: "", STACK_DEFAULT_TAGS: '{"from":"env"}' };
    const c = configFrom({ memorySize: 1024, region: "eu-west-1", defaultTags: { from: "context" }, timeout: null }, env);
    assert.deepEqual([c.memorySize, c.region, c.defaultTags, c.timeout], [2048, "eu-west-1", { from: "env" }, 30]);
  });

  test("every setting has its own context key and STACK_ environment variable", () => {
    const contexts = Object.values(SETTINGS).map((s) => s.context);
    const envs = Object.values(SETTINGS).map((s) => s.env);
    assert.equal(new Set(contexts).size, contexts.length);
    assert.equal(new Set(envs).size, envs.length);
    for (const [name, s] of Object.entries(SETTINGS)) {
      assert.equal(s.context, name);
      assert.match(s.env, /^STACK_[A-Z0-9_]+$/);
    }
    // Each environment variable really reaches its setting.
    const c = configFrom({}, { STACK_NAME: "envstack", STACK_TIMEOUT: "45", STACK_KMS_KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/abc" });
    assert.deepEqual([c.stackName, c.timeout, c.kmsKeyArn], ["envstack", 45, "arn:aws:kms:us-east-1:123456789012:key/abc"]);
  });

  test("issues name the environment variable when the value came from one", () => {
    const issues = issuesOf({ timeout: 30 }, { STACK_TIMEOUT: "0" });
    assert.deepEqual(issues, [{ field: "timeout", source: "environment variable STACK_TIMEOUT", value: "0", allowed: "an integer from 1 to 900 seconds" }]);
  });

  test("cdktf.json context < CDKTF_CONTEXT_JSON < STACK_ variables, through a real App", () => {
    const saved = process.env.CDKTF_CONTEXT_JSON;
    process.env.CDKTF_CONTEXT_JSON = JSON.stringify({ memorySize: 2048, timeout: 60 });
    try {
      const app = new App({ outdir: path.join(tmp, "app-out"), context: { memorySize: 1024, timeout: 10, region: "eu-west-1" } });
      const c = loadStackConfig(app.node, { STACK_TIMEOUT: "90" });
      assert.deepEqual([c.region, c.memorySize, c.timeout], ["eu-west-1", 2048, 90]);
    } finally {
      if (saved === undefined) delete process.env.CDKTF_CONTEXT_JSON;
      else process.env.CDKTF_CONTEXT_JSON = saved;
    }
  });

  test("all bad settings are reported together", () => {
    const issues = issuesOf({ memorySize: 64, timeout: 0, runtime: "nodejs20.x" }, { STACK_MAX_RETRY_ATTEMPTS: "3" });
    assert.deepEqual(
      issues.map((i) => i.field),
      ["runtime", "memorySize", "timeout", "maxRetryAttempts"],
    );
  });
});

describe("validation: each bad value names the field, the value and what is allowed", () => {
  const cases: [SettingName, unknown, RegExp][] = [
    ["stackName", "1stack", /a letter, then letters, digits, hyphens or underscores/],
    ["stackName", "has space", /1 to 64 characters/],
    ["stackName", `s${"x".repeat(64)}`, /1 to 64 characters/],
    ["region", "US-EAST-1", /AWS region code/],
    ["region", "useast1", /AWS region code/],
    ["defaultTags", "not json", /JSON object/],
    ["defaultTags", ["a"], /JSON object/],
    ["defaultTags", { team: 5 }, /JSON object/],
    ["defaultTags", { "aws:createdBy": "me" }, /not starting with "aws:"/],
    ["defaultTags", { ["k".repeat(129)]: "v" }, /keys 1-128/],
    ["defaultTags", { k: "v".repeat(257) }, /values 0-256/],
    ["defaultTags", { "bad#key": "v" }, /letters, digits, spaces/],
    ["defaultTags", Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, "v"])), /at most 50 tags/],
    ["senderFunctionName", "has.dot", /1 to 64 letters, digits, hyphens or underscores/],
    ["senderFunctionName", "f".repeat(65), /1 to 64/],
    ["consumerFunctionName", "", /1 to 64/],
    ["bucketName", 42, /S3 bucket naming rules/],
    ["bucketName", "ab", /3 to 63 characters/],
    ["bucketName", "b".repeat(64), /3 to 63 characters/],
    ["bucketName", "My-Bucket", /only lowercase letters, digits, dots and hyphens/],
    ["bucketName", "my_bucket", /only lowercase letters/],
    ["bucketName", "-bucket", /begins and ends with a letter or digit/],
    ["bucketName", "bucket.", /begins and ends with a letter or digit/],
    ["bucketName", "my..bucket", /no two adjacent dots/],
    ["bucketName", "192.168.5.4", /not formatted as an IP address/],
    ["bucketName", "xn--bucket", /does not start with "xn--"/],
    ["bucketName", "sthree-bucket", /does not start with "sthree-"/],
    ["bucketName", "amzn-s3-demo-bucket", /does not start with "amzn-s3-demo-"/],
    ["bucketName", "bucket-s3alias", /does not end with "-s3alias"/],
    ["bucketName", "bucket--ol-s3", /does not end with "--ol-s3"/],
    ["bucketName", "bucket.mrap", /does not end with ".mrap"/],
    ["bucketName", "bucket--x-s3", /does not end with "--x-s3"/],
    ["bucketName", "bucket--table-s3", /does not end with "--table-s3"/],
    ["forceDestroy", "yes", /true or false/],
    ["kmsKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/payloads", /KMS key ARN.*not an alias/],
    ["kmsKeyArn", "1234abcd-12ab-34cd-56ef-1234567890ab", /KMS key ARN/],
    ["payloadPrefix", "", /1 to 512 characters/],
    ["payloadPrefix", "/payloads/", /not starting with "\/"/],
    ["payloadPrefix", "pay*loads/", /letters, digits and/],
    ["payloadPrefix", "${var.x}/", /letters, digits and/],
    ["payloadPrefix", "p".repeat(513), /1 to 512 characters/],
    ["payloadExpirationDays", 0, /integer from 1 to 2147483647 days/],
    ["payloadExpirationDays", "1.5", /integer from 1/],
    ["inlineLimitBytes", 0, /integer from 1 to 1048576 bytes/],
    ["inlineLimitBytes", EVENT_PAYLOAD_LIMIT_BYTES + 1, /integer from 1 to 1048576 bytes/],
    ["inlineLimitBytes", "1MiB", /integer from 1 to 1048576/],
    ["inlineLimitBytes", 1.5, /integer from 1 to 1048576/],
    ["alwaysS3", "1", /true or false/],
    ["compressInline", "off", /true or false/],
    ["deleteAfterProcessing", "no", /true or false/],
    ["runtime", "nodejs20.x", /one of "nodejs22.x", "nodejs24.x"/],
    ["architecture", "arm", /one of "arm64", "x86_64"/],
    ["memorySize", 127, /integer from 128 to 10240 MB/],
    ["memorySize", 10_241, /integer from 128 to 10240 MB/],
    ["consumerEphemeralStorageMb", 511, /integer from 512 to 10240 MB/],
    ["consumerEphemeralStorageMb", 10_241, /integer from 512 to 10240 MB/],
    ["timeout", 0, /integer from 1 to 900 seconds/],
    ["timeout", 901, /integer from 1 to 900 seconds/],
    ["logRetentionDays", 2, /one of 0, 1, 3, 5, 7, 14, 30, .* 3653/],
    ["logRetentionDays", "15", /one of 0, 1, 3/],
    ["maxRetryAttempts", 3, /integer from 0 to 2$/],
    ["maxRetryAttempts", -1, /integer from 0 to 2$/],
    ["maxEventAgeSeconds", 59, /integer from 60 to 21600 seconds/],
    ["maxEventAgeSeconds", 21_601, /integer from 60 to 21600 seconds/],
    ["idempotencyExpiresAfterSeconds", 59, /integer from 60 to 31536000 seconds/],
    ["sdkConnectionTimeoutMs", 0, /integer from 1 to 900000 ms/],
    ["sdkRequestTimeoutMs", "5s", /integer from 1 to 900000 ms/],
    ["stateBucket", "State_Bucket", /valid S3 bucket name/],
    ["stateKey", "/state.tfstate", /not starting with "\/"/],
    ["stateKey", "", /1 to 1024 characters/],
    ["stateRegion", "mars-1", /AWS region code/],
    ["localStatePath", "/var/state/terraform.tfstate", /relative file path/],
    ["localStatePath", "C:\\state\\terraform.tfstate", /relative file path/],
  ];
  for (const [field, value, allowed] of cases) {
    test(`${field} = ${JSON.stringify(value).slice(0, 40)}`, () => assertRejected(field, value, allowed));
  }

  test("the boundaries themselves are accepted", () => {
    const low = configFrom({ inlineLimitBytes: 1, memorySize: 128, timeout: 1, maxRetryAttempts: 0, maxEventAgeSeconds: 60, logRetentionDays: 0, payloadExpirationDays: 2, failureRecordExpirationDays: 1 });
    const high = configFrom({ inlineLimitBytes: EVENT_PAYLOAD_LIMIT_BYTES, memorySize: 10_240, timeout: 900, maxRetryAttempts: 2, maxEventAgeSeconds: 21_600, logRetentionDays: 3653 });
    assert.deepEqual([low.inlineLimitBytes, low.memorySize, low.timeout, low.maxRetryAttempts, low.maxEventAgeSeconds, low.logRetentionDays], [1, 128, 1, 0, 60, 0]);
    assert.deepEqual([high.inlineLimitBytes, high.memorySize, high.timeout, high.maxRetryAttempts, high.maxEventAgeSeconds, high.logRetentionDays], [EVENT_PAYLOAD_LIMIT_BYTES, 10_240, 900, 2, 21_600, 3653]);
    assert.equal(configFrom({ bucketName: "a.b-c" }).bucketName, "a.b-c");
    assert.equal(configFrom({ bucketName: "b".repeat(63) }).bucketName, "b".repeat(63));
    assert.deepEqual(bucketNameViolations("my-payload-bucket.example"), []);
  });

  test("sender and consumer must have different names", () => {
    assert.deepEqual(issuesOf({ senderFunctionName: "same", consumerFunctionName: "same" }), [
      { field: "consumerFunctionName", source: "the sender and consumer settings", value: "same", allowed: 'different from senderFunctionName ("same")' },
    ]);
  });

  test("the KMS key must be in the bucket's region", () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/abcd";
    assert.deepEqual(issuesOf({ kmsKeyArn: key }), [
      { field: "kmsKeyArn", source: "the kmsKeyArn and region settings", value: key, allowed: `a key in the bucket's region "us-east-1" (S3 cannot use a KMS key from "eu-west-1")` },
    ]);
    assert.equal(configFrom({ kmsKeyArn: key, region: "eu-west-1" }).kmsKeyArn, key);
  });

  test("a stack name whose generated bucket prefix breaks the bucket rules asks for an explicit bucket name", () => {
    const [issue] = issuesOf({ stackName: "xn--stack" });
    assert.deepEqual(issue, {
      field: "bucketName",
      source: "the stackName setting",
      value: "xn--stack-",
      allowed: "set explicitly, because the prefix generated from the stack name breaks the S3 bucket naming rules",
    });
    assert.equal(configFrom({ stackName: "xn--stack", bucketName: "fine-bucket", failureBucketName: "fine-failures" }).bucketName, "fine-bucket");
  });

  test("failure records: they expire before their payloads, in a bucket of their own; bad values are named", () => {
    assert.deepEqual(issuesOf({ payloadExpirationDays: 14 }), [
      {
        field: "payloadExpirationDays",
        source: "the payloadExpirationDays and failureRecordExpirationDays settings",
        value: 14,
        allowed: "more than failureRecordExpirationDays (14), so a failure record never outlives the payload object it points at",
      },
    ]);
    assert.equal(configFrom({ payloadExpirationDays: 8, failureRecordExpirationDays: 7 }).failureRecordExpirationDays, 7);
    assert.match(issuesOf({ failureRecordExpirationDays: 0 })[0]!.allowed, /integer from 1/);
    assert.deepEqual(issuesOf({ bucketName: "same-bucket", failureBucketName: "same-bucket" }).map((i) => i.field), ["failureBucketName"]);
    assert.match(issuesOf({ failureBucketName: "Bad_Name" })[0]!.allowed, /S3 bucket name/);
    const long = configFrom({ stackName: `a${"-b".repeat(30)}` }).failureBucketPrefix;
    assert.ok(long.length <= 37 && long.endsWith("-failures-"), long);
  });

  test("alarms: one topic at most, a topic needs alarms, ages within Lambda's maximum event age", () => {
    const topic = "arn:aws:sns:us-east-1:123456789012:ops-alerts";
    assert.equal(configFrom({ alarmTopicArn: topic }).alarmTopicArn, topic);
    assert.match(issuesOf({ alarmTopicArn: "ops-alerts" })[0]!.allowed, /SNS topic ARN/);
    assert.match(issuesOf({ alarmTopicArn: `${topic}.fifo` })[0]!.allowed, /SNS topic ARN/);
    assert.deepEqual(issuesOf({ alarmTopicArn: topic, createAlarmTopic: true }).map((i) => i.field), ["createAlarmTopic"]);
    assert.deepEqual(issuesOf({ createAlarmTopic: "true", alarms: "false" }).map((i) => i.field), ["alarms"]);
    assert.deepEqual(issuesOf({ alarmEventAgeSeconds: 59 }).map((i) => [i.field, i.allowed]), [["alarmEventAgeSeconds", "an integer from 60 to 21600 seconds"]]);
    assert.equal(configFrom({}, { STACK_ALARMS: "false" }).alarms, false);
  });
});

describe("cdktf.json", () => {
  test("the project's cdktf.json runs the app with tsx, outputs to cdktf.out, and its context is valid", () => {
    const file = path.join(PROJECT_ROOT, "cdktf.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(json.app, "npx tsx main.ts");
    assert.equal(json.language, "typescript");
    assert.equal(json.output, "cdktf.out");
    const context = cdktfJsonContext(file);
    assert.doesNotThrow(() => loadStackConfig({ tryGetContext: (k) => context[k] }));
  });

  test("context is read from the file, absent context is empty, and malformed files fail clearly", () => {
    const write = (name: string, text: string) => {
      const file = path.join(tmp, name);
      writeFileSync(file, text);
      return file;
    };
    assert.deepEqual(cdktfJsonContext(write("a.json", '{"app":"x","context":{"region":"eu-west-1"}}')), { region: "eu-west-1" });
    assert.deepEqual(cdktfJsonContext(write("b.json", '{"app":"x"}')), {});
    assert.throws(() => cdktfJsonContext(write("c.json", "{not json")), /Cannot read c\.json/);
    assert.throws(() => cdktfJsonContext(write("d.json", '{"context":[1]}')), /"context" in d\.json must be a JSON object/);
    assert.throws(() => cdktfJsonContext(path.join(tmp, "missing.json")), /Cannot read missing\.json/);
  });
});

describe("idempotency window and SDK timeouts", () => {
  test("the window must cover the maximum event age, or a late duplicate would be processed again", () => {
    assert.deepEqual(issuesOf({ idempotencyExpiresAfterSeconds: 3600 }), [
      {
        field: "idempotencyExpiresAfterSeconds",
        source: "the idempotencyExpiresAfterSeconds and maxEventAgeSeconds settings",
        value: 3600,
        allowed: "at least maxEventAgeSeconds (21600), so a duplicate that waited in Lambda's queue is still recognised",
      },
    ]);
    assert.equal(configFrom({ idempotencyExpiresAfterSeconds: 3600, maxEventAgeSeconds: 3600 }).idempotencyExpiresAfterSeconds, 3600);
  });

  test("one SDK attempt must fit in the function timeout", () => {
    assert.deepEqual(issuesOf({ timeout: 10, sdkRequestTimeoutMs: 9000 }), [
      {
        field: "sdkRequestTimeoutMs",
        source: "the sdkConnectionTimeoutMs, sdkRequestTimeoutMs and timeout settings",
        value: 9000,
        allowed: "small enough that sdkConnectionTimeoutMs + sdkRequestTimeoutMs (10000 ms) is below the function timeout (10000 ms)",
      },
    ]);
  });

  test("unset SDK timeouts shrink with short functions so three attempts fit; 30 s and up keep the contract's", () => {
    for (const timeout of [1, 3, 10, 29]) {
      const c = configFrom({ timeout });
      assert.ok(3 * (c.sdkConnectionTimeoutMs + c.sdkRequestTimeoutMs) < timeout * 1000, `timeout ${timeout}: ${c.sdkConnectionTimeoutMs} + ${c.sdkRequestTimeoutMs}`);
    }
    for (const timeout of [30, 900]) {
      const c = configFrom({ timeout });
      assert.deepEqual([c.sdkConnectionTimeoutMs, c.sdkRequestTimeoutMs], [DEFAULTS.sdkConnectionTimeoutMs, DEFAULTS.sdkRequestTimeoutMs]);
    }
    assert.equal(configFrom({ timeout: 10, sdkRequestTimeoutMs: 4000 }).sdkRequestTimeoutMs, 4000, "an explicit value wins");
  });
});
