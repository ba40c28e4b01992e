/**
 * The whole pipeline on loopback: local S3 with the payload bucket and its notification, and the
 * local Lambda API running the sender and consumer bundles with the environment the stack gives
 * them. `npm start`, `npm run local` and the end-to-end tests all start it through here.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { type Bundle, bundleHandlers, type FunctionRole } from "../bundling/bundle.ts";
import {
  consumerEnvironment,
  DEFAULT_CONSUMER_NAME,
  DEFAULT_SENDER_NAME,
  DEFAULTS,
  type PipelineSettings,
  senderEnvironment,
} from "../lib/contract.ts";
import { s3FailureDestination } from "./failure-destination.ts";
import { type LocalDynamoDb, startLocalDynamoDb } from "./dynamodb.ts";
import type { LogListener } from "./function-process.ts";
import { type AsyncInvokeConfig, type LambdaApi, type LocalFunctionDefinition, startLambdaApi } from "./lambda-api.ts";
import { type LocalS3, startLocalS3 } from "./s3.ts";

/** Bucket name of the local cloud; a deployed stack names its own bucket. */
export const LOCAL_BUCKET = "lambda-s3-async-lambda-local";
/** The local cloud's on-failure destination bucket, in its own S3 (so per run, never shared). */
export const LOCAL_FAILURE_BUCKET = "lambda-s3-async-lambda-local-failures";
/** Idempotency table of the local cloud, in local DynamoDB (dynalite). */
export const LOCAL_IDEMPOTENCY_TABLE = "lambda-s3-async-lambda-local-idempotency";

export interface LocalCloudOptions {
  /** @default function names and flags from the contract, bucket {@link LOCAL_BUCKET} */
  readonly settings?: Partial<PipelineSettings>;
  /** @default 0, an ephemeral port (`npm run local` uses 3001, like SAM) */
  readonly lambdaPort?: number;
  /** @default 0, an ephemeral port (`npm run local` uses 4568, like s3rver) */
  readonly s3Port?: number;
  /** @default 0, an ephemeral port (`npm run local` uses 0 too) */
  readonly dynamodbPort?: number;
  /** @default "us-east-1" */
  readonly region?: string;
  /**
   * The Lambda API's own Event limit, independent of `settings.inlineLimitBytes` (what the sender
   * believes), so a test can make Lambda stricter than the sender and force the 413 fallback.
   * @default EVENT_PAYLOAD_LIMIT_BYTES
   */
  readonly eventLimitBytes?: number;
  /** @default Lambda's defaults with short retry delays, see {@link AsyncInvokeConfig} */
  readonly asyncInvokeConfig?: AsyncInvokeConfig;
  /** Also write records of events that failed for good as files here. @default see LambdaApiOptions */
  readonly failureDir?: string;
  /**
   * The consumer's on-failure destination: a bucket in the local S3 that receives Lambda's
   * records under `aws/lambda/async/<function>/…`, as the deployed stack's failure bucket does.
   * @default {@link LOCAL_FAILURE_BUCKET}
   */
  readonly failureBucket?: string;
  /** Where s3rver keeps objects. @default a temporary directory, removed on close */
  readonly s3Directory?: string;
  /**
   * Keep the local cloud's state here, so it survives a restart: S3's objects (payloads and
   * failure records) in `s3/`, DynamoDB's tables (idempotency records) in `dynamodb/`. Events still
   * queued or waiting for a retry when the cloud stops are lost. Overrides `s3Directory`.
   * @default nothing is kept
   */
  readonly stateDirectory?: string;
  /** @default 60 */
  readonly timeoutSeconds?: number;
  /** Reported to the functions as `context.memoryLimitInMB` and in REPORT lines. @default 128 */
  readonly memorySizeMb?: number;
  /**
   * The consumer's /tmp size (the stack's `consumerEphemeralStorageMb`): its statfs reports it, so
   * a payload too large for it fails as in AWS. See {@link LocalFunctionDefinition.ephemeralStorageMb}.
   * @default 512
   */
  readonly consumerEphemeralStorageMb?: number;
  /** Every log line of every function, with the function's name. */
  readonly onLog?: LogListener;
  /** @default bundles the handlers with `bundleHandlers()` */
  readonly bundles?: Record<FunctionRole, Bundle>;
}

export interface LogLine {
  readonly functionName: string;
  readonly line: string;
}

export interface LocalCloud {
  readonly settings: PipelineSettings;
  /** The consumer's on-failure destination bucket, in {@link LocalCloud.s3Endpoint}. */
  readonly failureBucket: string;
  readonly region: string;
  /** For `endpoint` in a LambdaClient or `--endpoint-url` of `aws lambda`. */
  readonly lambdaEndpoint: string;
  /** For `endpoint` in an S3Client or `--endpoint-url` of `aws s3`. */
  readonly s3Endpoint: string;
  readonly lambda: LambdaApi;
  readonly s3: LocalS3;
  /** Local DynamoDB holding the idempotency table; `dynamodb.endpoint` for clients. */
  readonly dynamodb: LocalDynamoDb;
  readonly bundles: Record<FunctionRole, Bundle>;
  /** The most recent log lines (up to 10,000), oldest first. */
  readonly logs: readonly LogLine[];
  /**
   * Resolves with the first line of `functionName`, logged since start, that satisfies
   * `predicate`. Rejects, with the last lines in the message, once the cloud is idle without such
   * a line: with nothing in flight, queued or waiting for a retry, none can come. No clock is
   * involved, so a slow machine only makes it take longer. Call it after the request that should
   * cause the line has been answered (an accepted Event or S3 upload is queued by then).
   */
  waitForLog(functionName: string, predicate: (line: string) => boolean): Promise<string>;
  /** Resolves when no invocation is in flight, queued or waiting for a retry. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const LOG_HISTORY = 10_000;

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const settings: PipelineSettings = {
    senderName: DEFAULT_SENDER_NAME,
    consumerName: DEFAULT_CONSUMER_NAME,
    bucket: LOCAL_BUCKET,
    prefix: DEFAULTS.prefix,
    inlineLimitBytes: DEFAULTS.inlineLimit,
    alwaysS3: DEFAULTS.alwaysS3,
    compressInline: DEFAULTS.compressInline,
    deleteAfterProcessing: DEFAULTS.deleteAfterProcessing,
    idempotencyTable: LOCAL_IDEMPOTENCY_TABLE,
    idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds,
    sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs,
    sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs,
    ...options.settings,
  };
  const region = options.region ?? "us-east-1";
  const failureBucket = options.failureBucket ?? LOCAL_FAILURE_BUCKET;
  const bundles = options.bundles ?? (await bundleHandlers());

  const logs: LogLine[] = [];
  const listeners = new Set<(entry: LogLine) => void>();
  const onLog: LogListener = (functionName, line) => {
    const entry = { functionName, line };
    logs.push(entry);
    if (logs.length > LOG_HISTORY) logs.splice(0, logs.length - LOG_HISTORY);
    options.onLog?.(functionName, line);
    for (const listener of listeners) listener(entry);
  };

  let lambda: LambdaApi | undefined;
  const state = options.stateDirectory === undefined ? undefined : path.resolve(options.stateDirectory);
  if (state !== undefined) await mkdir(path.join(state, "dynamodb"), { recursive: true });
  const s3Directory = state === undefined ? options.s3Directory : path.join(state, "s3");
  const dynamodb = await startLocalDynamoDb({
    tables: [settings.idempotencyTable],
    port: options.dynamodbPort ?? 0,
    region,
    ...(state !== undefined && { directory: path.join(state, "dynamodb") }),
  });
  const s3 = await startLocalS3({
    bucket: settings.bucket,
    otherBuckets: [failureBucket],
    port: options.s3Port ?? 0,
    region,
    ...(s3Directory !== undefined && { directory: s3Directory }),
    notification: {
      prefix: settings.prefix,
      invokeAsync(body) {
        try {
          if (!lambda) throw new Error("the Lambda API is not running");
          lambda.invokeAsync(settings.consumerName, body);
        } catch (error) {
          onLog(settings.consumerName, `S3 notification not delivered: ${String(error)}; event: ${Buffer.from(body).toString()}`);
        }
      },
    },
  }).catch(async (error: unknown) => {
    await dynamodb.close();
    throw error;
  });
  const failureDestination = s3FailureDestination({ endpoint: s3.endpoint, bucket: failureBucket, region });
  try {
    const sizing = {
      ...(options.timeoutSeconds !== undefined && { timeoutSeconds: options.timeoutSeconds }),
      ...(options.memorySizeMb !== undefined && { memorySizeMb: options.memorySizeMb }),
    };
    lambda = await startLambdaApi({
      port: options.lambdaPort ?? 0,
      region,
      ...(options.eventLimitBytes !== undefined && { eventLimitBytes: options.eventLimitBytes }),
      ...(options.asyncInvokeConfig !== undefined && { asyncInvokeConfig: options.asyncInvokeConfig }),
      ...(options.failureDir !== undefined && { failureDir: options.failureDir }),
      environment: { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint },
      onLog,
      functions: [
        { name: settings.senderName, bundleFile: bundles.sender.file, environment: senderEnvironment(settings), ...sizing },
        // As in the stack, only the consumer has an on-failure destination.
        {
          name: settings.consumerName,
          bundleFile: bundles.consumer.file,
          environment: consumerEnvironment(settings),
          failureDestination,
          ...sizing,
          ...(options.consumerEphemeralStorageMb !== undefined && { ephemeralStorageMb: options.consumerEphemeralStorageMb }),
        },
      ],
    });
  } catch (error) {
    failureDestination.close();
    await Promise.all([s3.close(), dynamodb.close()]);
    throw error;
  }
  const api = lambda;

  let closing: Promise<void> | undefined;
  return {
    settings,
    failureBucket,
    region,
    lambdaEndpoint: api.endpoint,
    s3Endpoint: s3.endpoint,
    lambda: api,
    s3,
    dynamodb,
    bundles,
    logs,
    waitForLog(functionName, predicate) {
      const seen = logs.find((l) => l.functionName === functionName && predicate(l.line));
      if (seen) return Promise.resolve(seen.line);
      return new Promise((resolve, reject) => {
        let settled = false;
        const listener = (entry: LogLine) => {
          if (settled || entry.functionName !== functionName || !predicate(entry.line)) return;
          settled = true;
          listeners.delete(listener);
          resolve(entry.line);
        };
        listeners.add(listener);
        // Log lines arrive before their invocation ends, so a line still missing at idle never comes.
        void api.idle().then(() => {
          if (settled) return;
          settled = true;
          listeners.delete(listener);
          const recent = logs.slice(-20).map((l) => `  ${l.functionName}: ${l.line}`).join("\n");
          reject(new Error(`No log line of ${functionName} matched, and the local cloud is idle (nothing in flight, queued or waiting for a retry), so none will. Last lines:\n${recent}`));
        });
      });
    },
    idle: () => api.idle(),
    close() {
      closing ??= api
        .close()
        .then(() => failureDestination.close())
        .then(() => Promise.all([s3.close(), dynamodb.close()]))
        .then(() => undefined);
      return closing;
    },
  };
}
