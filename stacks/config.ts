/**
 * The stack's settings: typed, validated at synth, read from environment variables and cdktf
 * context. The pipeline's own values (names, prefix, limit, switches) end up as the functions'
 * environment through `pipelineSettings()` and the contract module, so deployed values and the
 * handlers' defaults share one source.
 *
 * Precedence, highest first: environment variable (non-empty), cdktf context (`CDKTF_CONTEXT_JSON`,
 * which cdktf-cli fills from cdktf.json "context"; main.ts reads cdktf.json itself when run without
 * the CLI), then the default below.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, DEFAULTS, type PipelineSettings } from "../lib/contract.ts";
import { constraintIssues, settingsPhrase } from "./constraints.ts";
import { bucketNameViolations, NotAllowed, parseRule, RULES, type Rule } from "./rules.ts";

export { bucketNameViolations };

/** Lambda runtimes the stack deploys, and the esbuild target that matches each. */
export const RUNTIMES = { "nodejs22.x": "node22", "nodejs24.x": "node24" } as const satisfies Record<(typeof RULES.runtime.values)[number], string>;
export type LambdaRuntime = keyof typeof RUNTIMES;

export const ARCHITECTURES = RULES.architecture.values;
export type LambdaArchitecture = (typeof ARCHITECTURES)[number];

/** Every value `retention_in_days` accepts; 0 keeps logs forever. */
export const LOG_RETENTION_DAYS = RULES.logRetentionDays.values;

export interface StackConfig {
  /** Stack name: the directory under cdktf.out/stacks and part of the generated bucket prefix. */
  readonly stackName: string;
  readonly region: string;
  readonly defaultTags: Readonly<Record<string, string>>;
  readonly senderFunctionName: string;
  readonly consumerFunctionName: string;
  /** Exact bucket name; when undefined Terraform generates one from `bucketPrefix`. */
  readonly bucketName: string | undefined;
  /** Derived from the stack name; only used when `bucketName` is undefined. */
  readonly bucketPrefix: string;
  readonly forceDestroy: boolean;
  /** SSE-KMS with this key when set, SSE-S3 otherwise. */
  readonly kmsKeyArn: string | undefined;
  readonly payloadPrefix: string;
  readonly payloadExpirationDays: number;
  readonly inlineLimitBytes: number;
  readonly alwaysS3: boolean;
  readonly compressInline: boolean;
  readonly deleteAfterProcessing: boolean;
  readonly runtime: LambdaRuntime;
  readonly architecture: LambdaArchitecture;
  readonly memorySize: number;
  /** The consumer's ephemeral storage (/tmp), where payloads above its streaming threshold are verified. */
  readonly consumerEphemeralStorageMb: number;
  readonly timeout: number;
  readonly logRetentionDays: number;
  readonly maxRetryAttempts: number;
  readonly maxEventAgeSeconds: number;
  /** How long the consumer remembers a processed payload id; at least `maxEventAgeSeconds`. */
  readonly idempotencyExpiresAfterSeconds: number;
  /** SDK connection timeout of both functions; with `sdkRequestTimeoutMs` below `timeout`. */
  readonly sdkConnectionTimeoutMs: number;
  /** SDK request timeout (one attempt, request and response) of both functions. */
  readonly sdkRequestTimeoutMs: number;
  /** S3 backend bucket; when undefined the state stays in a local file. */
  readonly stateBucket: string | undefined;
  readonly stateKey: string;
  readonly stateRegion: string;
  /** Local state file, relative to the stack's directory (cdktf.out/stacks/<stack>). */
  readonly localStatePath: string;
  /** Bucket of the consumer's failure records; when undefined Terraform generates one from `failureBucketPrefix`. */
  readonly failureBucketName: string | undefined;
  /** Derived from the stack name; only used when `failureBucketName` is undefined. */
  readonly failureBucketPrefix: string;
  readonly failureRecordExpirationDays: number;
  readonly alarms: boolean;
  /** Existing SNS topic the alarms notify; none when undefined (unless `createAlarmTopic`). */
  readonly alarmTopicArn: string | undefined;
  readonly createAlarmTopic: boolean;
  readonly alarmEventAgeSeconds: number;
}

export const DEFAULT_STACK_NAME = "lambda-s3-async-lambda";

/**
 * Memory and timeout cover a 6 MiB payload (the synchronous invoke limit, so the largest event
 * the sender can receive): a few copies of it plus the SDK fit easily in 512 MB, which also buys
 * more CPU and network throughput than 128 MB; 30 s covers an S3 put or get of that size.
 */
export const STACK_DEFAULTS = {
  region: "us-east-1",
  defaultTags: { Project: "lambda-s3-async-lambda" },
  forceDestroy: false,
  // A day longer than a failure record lives, so a record never points at an expired payload:
  // the record is written up to maxEventAgeSeconds (6 h) after its payload, and S3 rounds both
  // expirations up to the next midnight UTC.
  payloadExpirationDays: 15,
  // Two weeks to notice (the alarms fire at once) and redrive.
  failureRecordExpirationDays: 14,
  alarms: true,
  createAlarmTopic: false,
  // Lambda retries a failing event after about 1 and 2 more minutes; older than 15 minutes means
  // a backlog (throttling, or an outage downstream), not a retry.
  alarmEventAgeSeconds: 900,
  runtime: "nodejs22.x",
  architecture: "arm64",
  memorySize: 512,
  // Lambda's default; payloads larger than this cannot be verified by the consumer (README).
  consumerEphemeralStorageMb: 512,
  timeout: 30,
  logRetentionDays: 14,
  maxRetryAttempts: 2,
  maxEventAgeSeconds: 21_600,
} as const satisfies Partial<StackConfig>;

/** One bad setting: which, where it came from, what it was and what is allowed. */
export interface ConfigIssue {
  readonly field: string;
  readonly source: string;
  readonly value: unknown;
  readonly allowed: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `Invalid stack configuration:\n${issues
        .map((i) => `  - ${i.field} = ${JSON.stringify(i.value)} (from ${i.source}): must be ${i.allowed}`)
        .join("\n")}`,
    );
    this.issues = issues;
  }
}

/** Where a setting can come from: a context key and an environment variable. */
export interface SettingSource {
  readonly context: string;
  readonly env: string;
  readonly description: string;
}

/** Context keys and environment variables, in the order the README documents them. */
export const SETTINGS = {
  stackName: { context: "stackName", env: "STACK_NAME", description: "Stack name (output directory, generated bucket prefix)" },
  region: { context: "region", env: "STACK_REGION", description: "AWS region of the provider" },
  defaultTags: { context: "defaultTags", env: "STACK_DEFAULT_TAGS", description: "Provider default_tags (JSON object in the environment variable)" },
  senderFunctionName: { context: "senderFunctionName", env: "STACK_SENDER_FUNCTION_NAME", description: "Sender function name" },
  consumerFunctionName: { context: "consumerFunctionName", env: "STACK_CONSUMER_FUNCTION_NAME", description: "Consumer function name" },
  bucketName: { context: "bucketName", env: "STACK_BUCKET_NAME", description: "Payload bucket name; generated from the stack name when unset" },
  forceDestroy: { context: "forceDestroy", env: "STACK_FORCE_DESTROY", description: "Let `destroy` delete a non-empty bucket" },
  kmsKeyArn: { context: "kmsKeyArn", env: "STACK_KMS_KEY_ARN", description: "KMS key ARN for SSE-KMS; SSE-S3 when unset" },
  payloadPrefix: { context: "payloadPrefix", env: "STACK_PAYLOAD_PREFIX", description: "Key prefix of payload objects" },
  payloadExpirationDays: { context: "payloadExpirationDays", env: "STACK_PAYLOAD_EXPIRATION_DAYS", description: "Days before leftover payload objects expire" },
  inlineLimitBytes: { context: "inlineLimitBytes", env: "STACK_INLINE_LIMIT_BYTES", description: "Largest inline Event request body, in bytes" },
  alwaysS3: { context: "alwaysS3", env: "STACK_ALWAYS_S3", description: "Send every payload through S3" },
  compressInline: { context: "compressInline", env: "STACK_COMPRESS_INLINE", description: "Compress payloads (brotli) that only fit inline compressed" },
  deleteAfterProcessing: { context: "deleteAfterProcessing", env: "STACK_DELETE_AFTER_PROCESSING", description: "Delete payload objects after successful processing" },
  runtime: { context: "runtime", env: "STACK_RUNTIME", description: "Lambda runtime (also the esbuild target)" },
  architecture: { context: "architecture", env: "STACK_ARCHITECTURE", description: "Lambda architecture" },
  memorySize: { context: "memorySize", env: "STACK_MEMORY_SIZE", description: "Memory of each function, in MB" },
  consumerEphemeralStorageMb: {
    context: "consumerEphemeralStorageMb",
    env: "STACK_CONSUMER_EPHEMERAL_STORAGE_MB",
    description: "The consumer's ephemeral storage (/tmp), in MB: large payloads are verified there",
  },
  timeout: { context: "timeout", env: "STACK_TIMEOUT", description: "Timeout of each function, in seconds" },
  logRetentionDays: { context: "logRetentionDays", env: "STACK_LOG_RETENTION_DAYS", description: "Log group retention in days (0 = never expire)" },
  maxRetryAttempts: { context: "maxRetryAttempts", env: "STACK_MAX_RETRY_ATTEMPTS", description: "Consumer async retry attempts" },
  maxEventAgeSeconds: { context: "maxEventAgeSeconds", env: "STACK_MAX_EVENT_AGE_SECONDS", description: "Consumer async maximum event age, in seconds" },
  idempotencyExpiresAfterSeconds: { context: "idempotencyExpiresAfterSeconds", env: "STACK_IDEMPOTENCY_EXPIRES_AFTER_SECONDS", description: "Seconds a processed payload id absorbs repeated deliveries (at least maxEventAgeSeconds)" },
  sdkConnectionTimeoutMs: { context: "sdkConnectionTimeoutMs", env: "STACK_SDK_CONNECTION_TIMEOUT_MS", description: "AWS SDK connection timeout of both functions, in ms" },
  sdkRequestTimeoutMs: { context: "sdkRequestTimeoutMs", env: "STACK_SDK_REQUEST_TIMEOUT_MS", description: "AWS SDK request timeout (one attempt, in all) of both functions, in ms" },
  stateBucket: { context: "stateBucket", env: "STACK_STATE_BUCKET", description: "S3 backend bucket; local state when unset" },
  stateKey: { context: "stateKey", env: "STACK_STATE_KEY", description: "S3 backend object key" },
  stateRegion: { context: "stateRegion", env: "STACK_STATE_REGION", description: "S3 backend region" },
  localStatePath: { context: "localStatePath", env: "STACK_LOCAL_STATE_PATH", description: "Local state file, relative to cdktf.out/stacks/<stack>" },
  failureBucketName: { context: "failureBucketName", env: "STACK_FAILURE_BUCKET_NAME", description: "Bucket of the consumer's failure records; generated from the stack name when unset" },
  failureRecordExpirationDays: { context: "failureRecordExpirationDays", env: "STACK_FAILURE_RECORD_EXPIRATION_DAYS", description: "Days before failure records expire (less than payloadExpirationDays)" },
  alarms: { context: "alarms", env: "STACK_ALARMS", description: "Create the CloudWatch alarms" },
  alarmTopicArn: { context: "alarmTopicArn", env: "STACK_ALARM_TOPIC_ARN", description: "Existing SNS topic the alarms notify" },
  createAlarmTopic: { context: "createAlarmTopic", env: "STACK_CREATE_ALARM_TOPIC", description: "Create an SNS topic for the alarms to notify" },
  alarmEventAgeSeconds: { context: "alarmEventAgeSeconds", env: "STACK_ALARM_EVENT_AGE_SECONDS", description: "Alarm when the oldest queued consumer event is this old, in seconds" },
} as const satisfies { [K in keyof StackConfig]?: SettingSource };

export type SettingName = keyof typeof SETTINGS;

/** Reads raw values; the App's node (`app.node.tryGetContext`) satisfies it. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

export type Environment = Readonly<Record<string, string | undefined>>;

type Parser<T> = (value: unknown) => T;

/** A parser from one of the shared rules, so the stack and the construct word a bad value alike. */
function fromRule<T>(rule: Rule): Parser<T> {
  return (value) => parseRule(rule, value) as T;
}

function string(allowed: string, valid: (s: string) => boolean): Parser<string> {
  return (value) => {
    if (typeof value !== "string" || !valid(value)) throw new NotAllowed(allowed);
    return value;
  };
}

const bool = fromRule<boolean>(RULES.boolean);
const bucketName = fromRule<string>(RULES.bucketName);
const tags = fromRule<Record<string, string>>(RULES.tags);
const functionName = fromRule<string>(RULES.functionName);
const payloadPrefix = fromRule<string>(RULES.payloadPrefix);
const kmsKeyArn = fromRule<string>(RULES.kmsKeyArn);
const snsTopicArn = fromRule<string>(RULES.snsTopicArn);

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const region = string('an AWS region code such as "us-east-1" or "eu-central-1"', (s) => REGION.test(s));

const stackName = string(
  "1 to 64 characters: a letter, then letters, digits, hyphens or underscores",
  (s) => /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(s),
);

const KMS_KEY_REGION = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/;

const stateKey = string('an S3 object key of 1 to 1024 characters, not starting with "/"', (s) => s.length >= 1 && s.length <= 1024 && !s.startsWith("/"));

const relativePath = string(
  "a relative file path (absolute paths would make the synthesized output depend on the machine)",
  (s) => s.length > 0 && !s.startsWith("/") && !s.startsWith("\\") && !/^[A-Za-z]:/.test(s) && !s.includes("\0"),
);

/**
 * Reads and validates every setting. Throws one ConfigError listing every bad setting, so a
 * user fixes them in one go.
 */
export function loadStackConfig(context: ContextReader, env: Environment = {}): StackConfig {
  const issues: ConfigIssue[] = [];

  function read<T>(name: SettingName, parse: Parser<T>, fallback: T): T;
  function read<T>(name: SettingName, parse: Parser<T>, fallback: undefined): T | undefined;
  function read<T>(name: SettingName, parse: Parser<T>, fallback: T | undefined): T | undefined {
    const source = SETTINGS[name];
    const fromEnv = env[source.env];
    let raw: unknown;
    let from: string;
    if (fromEnv !== undefined && fromEnv !== "") {
      raw = fromEnv;
      from = `environment variable ${source.env}`;
    } else {
      raw = context.tryGetContext(source.context);
      from = `context key "${source.context}"`;
    }
    // Context may hold JSON null to mean "unset", as an empty environment variable does.
    if (raw === undefined || raw === null) return fallback;
    try {
      return parse(raw);
    } catch (err) {
      if (!(err instanceof NotAllowed)) throw err;
      issues.push({ field: name, source: from, value: raw, allowed: err.allowed });
      return fallback;
    }
  }

  const name = read("stackName", stackName, DEFAULT_STACK_NAME);
  // Read in its place below (issues keep the documented order), then used for the SDK defaults.
  let functionTimeout: number = STACK_DEFAULTS.timeout;
  const awsRegion = read("region", region, STACK_DEFAULTS.region);
  const config: StackConfig = {
    stackName: name,
    region: awsRegion,
    defaultTags: read("defaultTags", tags, STACK_DEFAULTS.defaultTags),
    senderFunctionName: read("senderFunctionName", functionName, DEFAULT_SENDER_NAME),
    consumerFunctionName: read("consumerFunctionName", functionName, DEFAULT_CONSUMER_NAME),
    bucketName: read("bucketName", bucketName, undefined),
    bucketPrefix: generatedBucketPrefix(name),
    forceDestroy: read("forceDestroy", bool, STACK_DEFAULTS.forceDestroy),
    kmsKeyArn: read("kmsKeyArn", kmsKeyArn, undefined),
    payloadPrefix: read("payloadPrefix", payloadPrefix, DEFAULTS.prefix),
    // S3 lifecycle days are a 32-bit integer.
    payloadExpirationDays: read("payloadExpirationDays", fromRule(RULES.payloadExpirationDays), STACK_DEFAULTS.payloadExpirationDays),
    inlineLimitBytes: read("inlineLimitBytes", fromRule(RULES.inlineLimitBytes), DEFAULTS.inlineLimit),
    alwaysS3: read("alwaysS3", bool, DEFAULTS.alwaysS3),
    compressInline: read("compressInline", bool, DEFAULTS.compressInline),
    deleteAfterProcessing: read("deleteAfterProcessing", bool, DEFAULTS.deleteAfterProcessing),
    runtime: read("runtime", fromRule<LambdaRuntime>(RULES.runtime), STACK_DEFAULTS.runtime),
    architecture: read("architecture", fromRule<LambdaArchitecture>(RULES.architecture), STACK_DEFAULTS.architecture),
    memorySize: read("memorySize", fromRule(RULES.memorySize), STACK_DEFAULTS.memorySize),
    consumerEphemeralStorageMb: read("consumerEphemeralStorageMb", fromRule(RULES.ephemeralStorageMb), STACK_DEFAULTS.consumerEphemeralStorageMb),
    timeout: (functionTimeout = read("timeout", fromRule(RULES.timeout), STACK_DEFAULTS.timeout)),
    logRetentionDays: read("logRetentionDays", fromRule<number>(RULES.logRetentionDays), STACK_DEFAULTS.logRetentionDays),
    maxRetryAttempts: read("maxRetryAttempts", fromRule(RULES.maxRetryAttempts), STACK_DEFAULTS.maxRetryAttempts),
    maxEventAgeSeconds: read("maxEventAgeSeconds", fromRule(RULES.maxEventAgeSeconds), STACK_DEFAULTS.maxEventAgeSeconds),
    idempotencyExpiresAfterSeconds: read("idempotencyExpiresAfterSeconds", fromRule(RULES.idempotencyExpiresAfterSeconds), DEFAULTS.idempotencyExpiresAfterSeconds),
    sdkConnectionTimeoutMs: read("sdkConnectionTimeoutMs", fromRule(RULES.sdkTimeoutMs), sdkTimeoutDefaults(functionTimeout).connection),
    sdkRequestTimeoutMs: read("sdkRequestTimeoutMs", fromRule(RULES.sdkTimeoutMs), sdkTimeoutDefaults(functionTimeout).request),
    stateBucket: read("stateBucket", bucketName, undefined),
    stateKey: read("stateKey", stateKey, `${name}/terraform.tfstate`),
    stateRegion: read("stateRegion", region, awsRegion),
    // cdktf-cli keeps local state in the project root; from cdktf.out/stacks/<stack> that is three levels up.
    localStatePath: read("localStatePath", relativePath, `../../../terraform.${name}.tfstate`),
    failureBucketName: read("failureBucketName", bucketName, undefined),
    failureBucketPrefix: generatedBucketPrefix(name, "failures-"),
    failureRecordExpirationDays: read("failureRecordExpirationDays", fromRule(RULES.failureRecordExpirationDays), STACK_DEFAULTS.failureRecordExpirationDays),
    alarms: read("alarms", bool, STACK_DEFAULTS.alarms),
    alarmTopicArn: read("alarmTopicArn", snsTopicArn, undefined),
    createAlarmTopic: read("createAlarmTopic", bool, STACK_DEFAULTS.createAlarmTopic),
    alarmEventAgeSeconds: read("alarmEventAgeSeconds", fromRule(RULES.alarmEventAgeSeconds), STACK_DEFAULTS.alarmEventAgeSeconds),
  };

  const keyRegion = config.kmsKeyArn?.match(KMS_KEY_REGION)?.[1];
  if (keyRegion !== undefined && keyRegion !== config.region) {
    issues.push({
      field: "kmsKeyArn",
      source: "the kmsKeyArn and region settings",
      value: config.kmsKeyArn,
      allowed: `a key in the bucket's region "${config.region}" (S3 cannot use a KMS key from "${keyRegion}")`,
    });
  }
  if (config.bucketName === undefined && bucketNameViolations(`${config.bucketPrefix}${"0".repeat(26)}`).length > 0) {
    issues.push({
      field: "bucketName",
      source: "the stackName setting",
      value: config.bucketPrefix,
      allowed: "set explicitly, because the prefix generated from the stack name breaks the S3 bucket naming rules",
    });
  }

  if (config.failureBucketName === undefined && bucketNameViolations(`${config.failureBucketPrefix}${"0".repeat(26)}`).length > 0) {
    issues.push({
      field: "failureBucketName",
      source: "the stackName setting",
      value: config.failureBucketPrefix,
      allowed: "set explicitly, because the prefix generated from the stack name breaks the S3 bucket naming rules",
    });
  }
  // The sender/consumer pair keeps the wording it has always had.
  const source = (fields: readonly string[]) => (fields[0] === "senderFunctionName" ? "the sender and consumer settings" : settingsPhrase(fields));
  issues.push(...constraintIssues(config).map(({ field, fields, value, allowed }) => ({ field, source: source(fields), value, allowed })));
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/**
 * The contract's SDK timeouts (2 s + 5 s), scaled down for functions shorter than 30 s so that the
 * SDK's three attempts still fit in the function's time: 10 % and 20 % of it at most.
 */
export function sdkTimeoutDefaults(timeoutSeconds: number): { connection: number; request: number } {
  const ms = timeoutSeconds * 1000;
  return {
    connection: Math.min(DEFAULTS.sdkConnectionTimeoutMs, Math.floor(ms / 10)),
    request: Math.min(DEFAULTS.sdkRequestTimeoutMs, Math.floor(ms / 5)),
  };
}

/** The idempotency table's name: unique per account and region like the consumer's function name, which it extends. */
export function idempotencyTableName(config: Pick<StackConfig, "consumerFunctionName">): string {
  return `${config.consumerFunctionName}-idempotency`;
}

/**
 * `bucket_prefix` allows 37 characters (Terraform appends 26); lower-cased stack name, underscores
 * as hyphens, and a trailing hyphen before the generated part.
 */
function generatedBucketPrefix(stack: string, suffix = ""): string {
  return `${stack.toLowerCase().replace(/_/g, "-").slice(0, 36 - suffix.length).replace(/-+$/, "")}-${suffix}`;
}

/**
 * The pipeline settings the functions' environment is built from. `bucket` is the bucket's name
 * as Terraform will know it (a token when the name is generated).
 */
export function pipelineSettings(config: StackConfig, bucket: string): PipelineSettings {
  return {
    senderName: config.senderFunctionName,
    consumerName: config.consumerFunctionName,
    bucket,
    prefix: config.payloadPrefix,
    inlineLimitBytes: config.inlineLimitBytes,
    alwaysS3: config.alwaysS3,
    compressInline: config.compressInline,
    deleteAfterProcessing: config.deleteAfterProcessing,
    idempotencyTable: idempotencyTableName(config),
    idempotencyExpiresAfterSeconds: config.idempotencyExpiresAfterSeconds,
    sdkConnectionTimeoutMs: config.sdkConnectionTimeoutMs,
    sdkRequestTimeoutMs: config.sdkRequestTimeoutMs,
  };
}

/**
 * The "context" object of cdktf.json. cdktf-cli passes it to the app as CDKTF_CONTEXT_JSON;
 * `npx tsx main.ts` runs without the CLI, so main.ts hands it to the App itself (the App still
 * lets CDKTF_CONTEXT_JSON override it).
 */
export function cdktfJsonContext(cdktfJsonFile: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(cdktfJsonFile, "utf8"));
  } catch (err) {
    throw new Error(`Cannot read ${path.basename(cdktfJsonFile)}: ${(err as Error).message}`);
  }
  const context = (parsed as { context?: unknown }).context ?? {};
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw new Error(`"context" in ${path.basename(cdktfJsonFile)} must be a JSON object`);
  }
  return context as Record<string, unknown>;
}
