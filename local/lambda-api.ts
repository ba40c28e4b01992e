/**
 * A local Lambda service on 127.0.0.1 that speaks the real Invoke REST API (and
 * GetFunctionConfiguration), so the AWS SDK and the AWS CLI work against it unchanged. Each function runs its esbuild bundle in its own
 * process (function-process.ts). Event invocations are queued and retried like Lambda does, and
 * the records of events that still fail go to the on-failure destination (the local cloud's
 * S3 bucket, see failure-destination.ts).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { LAMBDA_HANDLER } from "../bundling/bundle.ts";
import { EVENT_PAYLOAD_LIMIT_BYTES, SYNC_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import type { FunctionError } from "./function-host.ts";
import { keepIdleConnections } from "./keep-alive.ts";
import { buildFunctionHost, FunctionProcess, type InvocationOutcome, type LogListener } from "./function-process.ts";

/** How Lambda treats a failed Event invocation (the function's EventInvokeConfig). */
export interface AsyncInvokeConfig {
  /**
   * Retries after the first failed attempt, 0 to 2.
   * @default 2
   */
  readonly maxRetryAttempts?: number;
  /**
   * Wait before each retry; the last value repeats. AWS waits about 1 minute before the first
   * retry and about 2 before the second; locally failures should surface in milliseconds.
   * @default [50, 100]
   */
  readonly retryDelaysMs?: readonly number[];
  /**
   * Events older than this are not attempted again and go to the failure destination.
   * @default 21600 (AWS's default; AWS accepts 60 to 21600, locally any non-negative value)
   */
  readonly maxEventAgeSeconds?: number;
}

export interface LocalFunctionDefinition {
  readonly name: string;
  /** Absolute path of the esbuild bundle (`.mjs`) that exports the handler. */
  readonly bundleFile: string;
  /** The function's own variables (what the stack sets). */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 60 */
  readonly timeoutSeconds?: number;
  /**
   * Reported to the function as `context.memoryLimitInMB`; not enforced.
   * @default 128
   */
  readonly memorySizeMb?: number;
  /**
   * Size of the function's /tmp. Each function gets a directory of its own as TMPDIR that lives
   * as long as the API (a timed-out process's files stay, as in Lambda's execution environment),
   * and the function's statfs reports a file system of this size less what the directory holds.
   * Writes past it are not refused. AWS accepts 512 to 10240; locally any positive size.
   * @default 512
   */
  readonly ephemeralStorageMb?: number;
  /** @default the API's {@link LambdaApiOptions.asyncInvokeConfig} */
  readonly asyncInvokeConfig?: AsyncInvokeConfig;
  /** @default the API's {@link LambdaApiOptions.failureDestination} */
  readonly failureDestination?: FailureDestination;
}

export interface LambdaApiOptions {
  readonly functions: readonly LocalFunctionDefinition[];
  /** @default 0, an ephemeral port */
  readonly port?: number;
  /** @default "us-east-1" */
  readonly region?: string;
  /** @default "000000000000" */
  readonly accountId?: string;
  /**
   * Largest Event request body accepted. Separate from the sender's configured limit, so a test
   * can make "AWS" stricter than the sender believes and exercise the 413 fallback.
   * @default EVENT_PAYLOAD_LIMIT_BYTES
   */
  readonly eventLimitBytes?: number;
  /** @default SYNC_PAYLOAD_LIMIT_BYTES */
  readonly syncLimitBytes?: number;
  /** @default Lambda's defaults, with short retry delays */
  readonly asyncInvokeConfig?: AsyncInvokeConfig;
  /**
   * Where the record of each event that failed for good goes, as Lambda sends it to a
   * function's on-failure destination.
   * @default none: the record is only kept in {@link LambdaApi.failures}, as Lambda drops an
   * event that has no destination
   */
  readonly failureDestination?: FailureDestination;
  /**
   * Also write each record as a JSON file into this directory, for inspection.
   * @default none
   */
  readonly failureDir?: string;
  /** Variables every function gets besides its own, for example AWS_ENDPOINT_URL_S3. */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default discards log lines */
  readonly onLog?: LogListener;
}

/** Lambda's asynchronous invocation record, as sent to an on-failure destination. */
export interface OnFailureRecord {
  readonly version: "1.0";
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetriesExhausted" | "EventAgeExceeded";
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responseContext?: { readonly statusCode: 200; readonly executedVersion: "$LATEST"; readonly functionError: "Unhandled" };
  readonly responsePayload?: FunctionError;
}

export interface FailedEvent {
  readonly functionName: string;
  /** Where the destination put the record (e.g. `s3://bucket/key`), if there is a destination. */
  readonly location?: string;
  /** The copy in {@link LambdaApiOptions.failureDir}, if set. */
  readonly file?: string;
  readonly record: OnFailureRecord;
}

/** An on-failure destination: stores one record, returns where it went. */
export interface FailureDestination {
  deliver(functionName: string, record: OnFailureRecord): Promise<string>;
}

/** What crossed the wire, per function, for tests to check. */
export interface FunctionStats {
  /** Event invocations accepted over HTTP (202). */
  eventsAccepted: number;
  /** Request body size in bytes of each accepted HTTP Event invocation, in arrival order. */
  readonly eventBodyBytes: number[];
  /** Events queued through {@link LambdaApi.invokeAsync} (S3 notifications). */
  internalEvents: number;
  /** Requests refused with 413, any invocation type. */
  rejectedTooLarge: number;
  /** RequestResponse invocations received. */
  syncInvocations: number;
  /** Handler runs, retries included. */
  runs: number;
  /** Events handed to the failure destination. */
  failedEvents: number;
}

type InvocationType = "RequestResponse" | "Event" | "DryRun";

interface FunctionState {
  readonly name: string;
  readonly arn: string;
  readonly host: FunctionProcess;
  readonly async: Required<AsyncInvokeConfig>;
  readonly failureDestination: FailureDestination | undefined;
  readonly stats: FunctionStats;
  /** GetFunctionConfiguration's answer (the fields a local function has). */
  readonly configuration: () => Record<string, unknown>;
  /** Tail of the function's FIFO: one environment runs one invocation at a time. */
  chain: Promise<unknown>;
}

interface QueuedEvent {
  readonly requestId: string;
  readonly payload: Uint8Array;
  readonly event: unknown;
  readonly receivedAt: number;
  attempts: number;
  lastError?: FunctionError;
}

class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  /** Lambda spells the message property differently per error. */
  readonly messageKey: "message" | "Message";

  constructor(
    status: number,
    type: string,
    message: string,
    messageKey: "message" | "Message" = "message",
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.messageKey = messageKey;
  }
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const CONFIGURATION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/configuration\/?$/;
/** Name, partial ARN or full ARN, with an optional qualifier (AWS's pattern, simplified). */
const FUNCTION_REF =
  /^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):function:|(\d{12}):function:|function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;
const INVOCATION_TYPES: readonly InvocationType[] = ["RequestResponse", "Event", "DryRun"];
/** Lambda's limit on a synchronous response, slightly above the request limit. */
const SYNC_RESPONSE_LIMIT_BYTES = 6_291_556;
const LOG_TAIL_BYTES = 4096;

export async function startLambdaApi(options: LambdaApiOptions): Promise<LambdaApi> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "local-lambda-"));
  try {
    const api = new LambdaApi(options, workDir, await buildFunctionHost(workDir));
    await api.listen(options.port ?? 0);
    return api;
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

export class LambdaApi {
  readonly region: string;
  readonly accountId: string;
  readonly failureDir: string | undefined;
  /** Every event that went to the failure destination, oldest first. */
  readonly failures: FailedEvent[] = [];
  private readonly functions = new Map<string, FunctionState>();
  private readonly server: http.Server;
  private readonly eventLimit: number;
  private readonly syncLimit: number;
  private readonly onLog: LogListener;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Requests in flight plus events queued, running or waiting for a retry. */
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;
  private port = 0;

  private readonly workDir: string;

  /** Use {@link startLambdaApi}. */
  constructor(options: LambdaApiOptions, workDir: string, hostFile: string) {
    this.workDir = workDir;
    this.region = options.region ?? "us-east-1";
    this.accountId = options.accountId ?? "000000000000";
    this.eventLimit = options.eventLimitBytes ?? EVENT_PAYLOAD_LIMIT_BYTES;
    this.syncLimit = options.syncLimitBytes ?? SYNC_PAYLOAD_LIMIT_BYTES;
    this.failureDir = options.failureDir;
    this.onLog = options.onLog ?? (() => {});
    for (const def of options.functions) {
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(def.name)) throw new Error(`Invalid function name ${JSON.stringify(def.name)}`);
      if (this.functions.has(def.name)) throw new Error(`Function ${def.name} is defined twice`);
      if (!path.isAbsolute(def.bundleFile)) throw new Error(`bundleFile of ${def.name} must be absolute: ${def.bundleFile}`);
      const async = asyncConfig({ ...options.asyncInvokeConfig, ...def.asyncInvokeConfig }, def.name);
      const timeoutSeconds = def.timeoutSeconds ?? 60;
      if (!(timeoutSeconds > 0)) throw new Error(`timeoutSeconds of ${def.name} must be positive`);
      const memorySizeMb = def.memorySizeMb ?? 128;
      const ephemeralStorageMb = def.ephemeralStorageMb ?? 512;
      if (!(ephemeralStorageMb > 0)) throw new Error(`ephemeralStorageMb of ${def.name} must be positive`);
      const host = new FunctionProcess({
        functionName: def.name,
        bundleFile: def.bundleFile,
        // Computed when the process starts: the endpoint is known only after listen().
        environment: () => this.environmentOf(def, memorySizeMb, options.environment),
        timeoutSeconds,
        memorySizeMb,
        ephemeralStorageBytes: Math.floor(ephemeralStorageMb * 1_048_576),
        hostFile,
        onLog: this.onLog,
      });
      this.functions.set(def.name, {
        name: def.name,
        arn: this.functionArn(def.name),
        host,
        async,
        failureDestination: def.failureDestination ?? options.failureDestination,
        configuration: () => ({
          FunctionName: def.name,
          FunctionArn: this.functionArn(def.name),
          Handler: handlerSetting(def),
          Timeout: timeoutSeconds,
          MemorySize: memorySizeMb,
          Version: "$LATEST",
          PackageType: "Zip",
          State: "Active",
          LastUpdateStatus: "Successful",
          Environment: { Variables: this.configuredVariables(def, options.environment) },
        }),
        stats: { eventsAccepted: 0, eventBodyBytes: [], internalEvents: 0, rejectedTooLarge: 0, syncInvocations: 0, runs: 0, failedEvents: 0 },
        chain: Promise.resolve(),
      });
    }
    this.server = http.createServer((req, res) => void this.handle(req, res));
    keepIdleConnections(this.server);
  }

  /** `http://127.0.0.1:PORT`, for `endpoint` in the SDK and `--endpoint-url` in the CLI. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  functionArn(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  stats(functionName: string): FunctionStats {
    return this.get(functionName).stats;
  }

  /** The function's /tmp: its TMPDIR, kept across its processes until {@link close}. */
  tmpDir(functionName: string): string {
    return path.join(this.workDir, "tmp", this.get(functionName).name);
  }

  /**
   * Queues an Event invocation without HTTP, as AWS services such as S3 invoke Lambda.
   * Throws if the function is unknown or the body is not JSON; returns the request id.
   */
  invokeAsync(functionName: string, body: Uint8Array): string {
    const fn = this.get(functionName);
    const { payload, event } = parseJsonBody(body);
    fn.stats.internalEvents++;
    return this.acceptEvent(fn, payload, event);
  }

  /** Resolves when no request is in flight and no event is queued, running or waiting to retry. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the server, drops queued events and kills every function process. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const timer of this.retryTimers) clearTimeout(timer);
      this.retryTimers.clear();
      const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      await Promise.all([...this.functions.values()].map((fn) => fn.host.close()));
      await serverClosed;
      await rm(this.workDir, { recursive: true, force: true });
      this.pending = 0;
      this.settleIdle();
    })();
    return this.closing;
  }

  /** @internal called once by {@link startLambdaApi} */
  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  private get(functionName: string): FunctionState {
    const fn = this.functions.get(functionName);
    if (!fn) throw new Error(`Function not found: ${this.functionArn(functionName)}`);
    return fn;
  }

  private environmentOf(
    def: LocalFunctionDefinition,
    memorySizeMb: number,
    shared: Readonly<Record<string, string>> | undefined,
  ): Record<string, string> {
    const home = path.join(this.workDir, "home", def.name);
    const tmp = path.join(this.workDir, "tmp", def.name);
    mkdirSync(tmp, { recursive: true });
    return {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      // An empty home: the SDK must not find the developer's ~/.aws config or credentials.
      HOME: home,
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
      // Lambda gives each execution environment a /tmp of its own.
      TMPDIR: tmp,
      ...this.configuredVariables(def, shared),
      // Reserved variables, which Lambda sets and a function's configuration cannot override.
      AWS_REGION: this.region,
      AWS_DEFAULT_REGION: this.region,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_LAMBDA_FUNCTION_NAME: def.name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySizeMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${def.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/${def.name}`,
      LAMBDA_TASK_ROOT: path.dirname(def.bundleFile),
      _HANDLER: handlerSetting(def),
    };
  }

  /**
   * The variables this local cloud configures for a function: its own plus the endpoints of the
   * local services. GetFunctionConfiguration reports them, so a client that knows the Lambda
   * endpoint finds the rest (S3's, for example) without being told.
   */
  private configuredVariables(def: LocalFunctionDefinition, shared: Readonly<Record<string, string>> | undefined): Record<string, string> {
    return { AWS_ENDPOINT_URL_LAMBDA: this.endpoint, ...shared, ...def.environment };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.track(1);
    res.on("error", () => {});
    res.on("close", () => this.track(-1));
    const requestId = randomUUID();
    res.setHeader("x-amzn-RequestId", requestId);
    try {
      await this.route(req, res, requestId);
    } catch (error) {
      if (error instanceof ApiError) {
        // Drain what the client still sends, so the error reaches it instead of a reset.
        if (!req.complete) await readBody(req, 0).catch(() => undefined);
        sendError(res, error);
      } else if (!res.headersSent && !res.destroyed) {
        sendError(res, new ApiError(500, "ServiceException", `Local Lambda API failed: ${String(error)}`, "Message"));
      }
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? "";
    const queryStart = url.indexOf("?");
    const pathname = queryStart < 0 ? url : url.slice(0, queryStart);
    const query = new URLSearchParams(queryStart < 0 ? "" : url.slice(queryStart + 1));
    const configuration = CONFIGURATION_PATH.exec(pathname);
    if (configuration?.[1] && req.method === "GET") {
      const fn = this.resolveFunction(configuration[1], query.get("Qualifier"));
      const body = Buffer.from(JSON.stringify(fn.configuration()));
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(body.length) }).end(body);
      return;
    }
    const match = INVOKE_PATH.exec(pathname);
    if (!match?.[1] || req.method !== "POST") {
      throw new ApiError(404, "UnknownOperationException", `Unknown operation: ${req.method} ${pathname}`);
    }
    const fn = this.resolveFunction(match[1], query.get("Qualifier"));
    const typeHeader = req.headers["x-amz-invocation-type"] ?? "RequestResponse";
    const type = INVOCATION_TYPES.find((t) => t === typeHeader);
    if (!type) {
      throw new ApiError(
        400,
        "ValidationException",
        `1 validation error detected: Value '${String(typeHeader)}' at 'invocationType' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [${INVOCATION_TYPES.join(", ")}]`,
      );
    }
    const limit = type === "Event" ? this.eventLimit : this.syncLimit;
    const { size, body } = await readBody(req, limit);
    if (!body) {
      fn.stats.rejectedTooLarge++;
      throw new ApiError(413, "RequestEntityTooLargeException", `${size} byte payload is too large for the ${type} invocation type (limit ${limit} bytes)`);
    }
    const { payload, event } = parseJsonBody(body);

    if (type === "DryRun") {
      res.writeHead(204).end();
    } else if (type === "Event") {
      fn.stats.eventsAccepted++;
      fn.stats.eventBodyBytes.push(size);
      this.acceptEvent(fn, payload, event, requestId);
      res.writeHead(202, { "Content-Length": "0" }).end();
    } else {
      fn.stats.syncInvocations++;
      const outcome = await this.schedule(fn, () => this.run(fn, requestId, payload));
      sendOutcome(res, outcome, req.headers["x-amz-log-type"] === "Tail");
    }
  }

  private resolveFunction(encoded: string, queryQualifier: string | null): FunctionState {
    let ref: string;
    try {
      ref = decodeURIComponent(encoded);
    } catch {
      throw new ApiError(400, "InvalidParameterValueException", `FunctionName is not valid URL encoding: ${encoded}`);
    }
    const parts = FUNCTION_REF.exec(ref);
    if (!parts) {
      throw new ApiError(
        400,
        "ValidationException",
        `1 validation error detected: Value '${ref}' at 'functionName' failed to satisfy constraint: ` +
          `Member must satisfy regular expression pattern: ${FUNCTION_REF.source}`,
      );
    }
    const [, region, arnAccount, partialAccount, name = "", refQualifier] = parts;
    if (queryQualifier !== null && refQualifier !== undefined && queryQualifier !== refQualifier) {
      throw new ApiError(400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier.");
    }
    const qualifier = queryQualifier ?? refQualifier;
    const account = arnAccount ?? partialAccount;
    const fn = this.functions.get(name);
    const arn = `arn:aws:lambda:${region ?? this.region}:${account ?? this.accountId}:function:${name}`;
    if (
      !fn ||
      (region !== undefined && region !== this.region) ||
      (account !== undefined && account !== this.accountId) ||
      (qualifier !== undefined && qualifier !== "$LATEST")
    ) {
      throw new ApiError(404, "ResourceNotFoundException", `Function not found: ${arn}${qualifier ? `:${qualifier}` : ""}`, "Message");
    }
    return fn;
  }

  private acceptEvent(fn: FunctionState, payload: Uint8Array, event: unknown, requestId: string = randomUUID()): string {
    this.track(1);
    const queued: QueuedEvent = { requestId, payload, event, receivedAt: Date.now(), attempts: 0 };
    void this.attempt(fn, queued).finally(() => this.track(-1));
    return requestId;
  }

  /** One attempt of an Event invocation; schedules the retry or the failure record. */
  private async attempt(fn: FunctionState, queued: QueuedEvent): Promise<void> {
    const outcome = await this.schedule(fn, async () => {
      if (this.closing) return "closed" as const;
      if (Date.now() - queued.receivedAt > fn.async.maxEventAgeSeconds * 1000) return "expired" as const;
      queued.attempts++;
      return this.run(fn, queued.requestId, queued.payload);
    });
    if (outcome === "closed" || this.closing || (typeof outcome === "object" && outcome.ok)) return;
    if (outcome === "expired") return this.deliverFailure(fn, queued, "EventAgeExceeded");
    queued.lastError = outcome.error;
    if (queued.attempts > fn.async.maxRetryAttempts) return this.deliverFailure(fn, queued, "RetriesExhausted");
    const delays = fn.async.retryDelaysMs;
    const delay = delays[Math.min(queued.attempts - 1, delays.length - 1)] ?? 0;
    this.onLog(
      fn.name,
      `ASYNC RequestId: ${queued.requestId} attempt ${queued.attempts} of ${fn.async.maxRetryAttempts + 1} failed ` +
        `(${outcome.error.errorType}: ${outcome.error.errorMessage}); retrying in ${delay} ms`,
    );
    this.track(1);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.attempt(fn, queued).finally(() => this.track(-1));
    }, delay);
    this.retryTimers.add(timer);
  }

  private async deliverFailure(fn: FunctionState, queued: QueuedEvent, condition: OnFailureRecord["requestContext"]["condition"]): Promise<void> {
    const timestamp = new Date().toISOString();
    const record: OnFailureRecord = {
      version: "1.0",
      timestamp,
      requestContext: {
        requestId: queued.requestId,
        functionArn: `${fn.arn}:$LATEST`,
        condition,
        approximateInvokeCount: queued.attempts,
      },
      requestPayload: queued.event,
      ...(queued.lastError && {
        responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
        responsePayload: queued.lastError,
      }),
    };
    fn.stats.failedEvents++;
    const failed: { -readonly [K in keyof FailedEvent]: FailedEvent[K] } = { functionName: fn.name, record };
    const what = `ASYNC RequestId: ${queued.requestId} failed for good (${condition} after ${queued.attempts} attempts)`;
    if (fn.failureDestination) {
      try {
        failed.location = await fn.failureDestination.deliver(fn.name, record);
      } catch (error) {
        // Lambda counts this in DestinationDeliveryFailures and drops the record.
        this.onLog(fn.name, `${what}; the on-failure destination refused the record: ${String(error)}`);
      }
    }
    if (this.failureDir !== undefined) {
      const file = path.join(this.failureDir, `${timestamp.replace(/[:.]/g, "-")}_${fn.name}_${queued.requestId}.json`);
      try {
        await mkdir(this.failureDir, { recursive: true });
        await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
        failed.file = file;
      } catch (error) {
        this.onLog(fn.name, `${what}; could not write ${file}: ${String(error)}`);
      }
    }
    const written = [failed.location, failed.file].filter((w) => w !== undefined);
    this.onLog(fn.name, written.length > 0 ? `${what}; on-failure record written to ${written.join(" and ")}` : `${what}; the record was not stored anywhere`);
    this.failures.push(failed);
  }

  private async run(fn: FunctionState, requestId: string, payload: Uint8Array): Promise<InvocationOutcome> {
    fn.stats.runs++;
    return fn.host.invoke(requestId, payload, fn.arn);
  }

  /** Runs `task` after everything already queued for this function. */
  private schedule<T>(fn: FunctionState, task: () => Promise<T>): Promise<T> {
    const result = fn.chain.then(task);
    fn.chain = result.catch(() => undefined);
    return result;
  }

  private track(delta: number): void {
    this.pending += delta;
    if (this.pending === 0) this.settleIdle();
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function asyncConfig(config: AsyncInvokeConfig, name: string): Required<AsyncInvokeConfig> {
  const maxRetryAttempts = config.maxRetryAttempts ?? 2;
  if (!Number.isInteger(maxRetryAttempts) || maxRetryAttempts < 0 || maxRetryAttempts > 2) {
    throw new Error(`maxRetryAttempts of ${name} must be 0, 1 or 2, got ${maxRetryAttempts}`);
  }
  const retryDelaysMs = config.retryDelaysMs ?? [50, 100];
  if (retryDelaysMs.length === 0 || retryDelaysMs.some((d) => !(d >= 0))) {
    throw new Error(`retryDelaysMs of ${name} must hold non-negative numbers`);
  }
  const maxEventAgeSeconds = config.maxEventAgeSeconds ?? 21_600;
  if (!(maxEventAgeSeconds >= 0)) throw new Error(`maxEventAgeSeconds of ${name} must be non-negative`);
  return { maxRetryAttempts, retryDelaysMs, maxEventAgeSeconds };
}

/** Lambda's handler setting for a bundle: `<file without extension>.<export>`. */
function handlerSetting(def: LocalFunctionDefinition): string {
  return `${path.basename(def.bundleFile).replace(/\.[cm]?js$/, "")}.${LAMBDA_HANDLER.slice(LAMBDA_HANDLER.lastIndexOf(".") + 1)}`;
}

/**
 * Reads the body, counting every byte but keeping none past `limit`, so an oversized request
 * costs no memory yet its real size still appears in the 413 message.
 */
function readBody(req: http.IncomingMessage, limit: number): Promise<{ size: number; body: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks = [];
    });
    req.on("end", () => resolve({ size, body: size <= limit ? Buffer.concat(chunks, size) : undefined }));
    req.on("error", reject);
    req.on("close", () => {
      if (!req.complete) reject(new Error("request aborted"));
    });
  });
}

/** Lambda accepts only UTF-8 JSON; an empty body is the event `{}`, as the CLI without --payload sends. */
function parseJsonBody(body: Uint8Array): { payload: Uint8Array; event: unknown } {
  const payload = body.length === 0 ? Buffer.from("{}") : body;
  try {
    return { payload, event: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload)) };
  } catch (error) {
    throw new ApiError(400, "InvalidRequestContentException", `Could not parse request body into json: ${(error as Error).message}`);
  }
}

function sendError(res: http.ServerResponse, error: ApiError): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify({ Type: "User", [error.messageKey]: error.message }));
  res
    .writeHead(error.status, {
      "Content-Type": "application/json",
      "Content-Length": String(body.length),
      "x-amzn-ErrorType": error.type,
    })
    .end(body);
}

function sendOutcome(res: http.ServerResponse, outcome: InvocationOutcome, tail: boolean): void {
  if (res.destroyed) return;
  let body = Buffer.from(outcome.ok ? outcome.payload : JSON.stringify(outcome.error));
  let failed = !outcome.ok;
  if (outcome.ok && body.length > SYNC_RESPONSE_LIMIT_BYTES) {
    failed = true;
    body = Buffer.from(
      JSON.stringify({
        errorType: "Function.ResponseSizeTooLarge",
        errorMessage: `Response payload size exceeded maximum allowed payload size (${SYNC_RESPONSE_LIMIT_BYTES} bytes).`,
      }),
    );
  }
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Content-Length": String(body.length),
    "X-Amz-Executed-Version": "$LATEST",
  };
  if (failed) headers["X-Amz-Function-Error"] = "Unhandled";
  if (tail) {
    const log = Buffer.from(outcome.logs.map((line) => `${line}\n`).join(""));
    headers["X-Amz-Log-Result"] = log.subarray(Math.max(0, log.length - LOG_TAIL_BYTES)).toString("base64");
  }
  res.writeHead(200, headers).end(body);
}
