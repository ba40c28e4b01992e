/**
 * Entry of one local execution environment: a child process that imports one function bundle
 * and serves its invocations one at a time over IPC, like the Lambda Node.js runtime does over
 * the Runtime API. The parent (function-process.ts) bundles this file with esbuild and starts it
 * under plain node, so the function runs without tsx's loader hooks, as it would on Lambda.
 *
 * argv: <absolute bundle file> <end-of-invocation marker> [<ephemeral storage bytes>]
 * The marker is written to stdout and stderr after each invocation so the parent knows every
 * log line of that invocation has arrived before it reports the result (pipes and the IPC
 * channel are separate and not ordered with each other).
 */
import fs, { type StatsFs } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Parent → child. */
export interface InvokeMessage {
  readonly type: "invoke";
  readonly requestId: string;
  readonly invokedFunctionArn: string;
  /**
   * The function timeout. As in Lambda it counts from when the handler is called, after init, so
   * a slow cold start (a busy machine) does not eat the handler's time.
   */
  readonly timeoutMs: number;
  /** The exact request body; valid UTF-8 JSON (the API checked it). */
  readonly payload: Uint8Array;
}

/** The error object Lambda returns for an unhandled function error. */
export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** What one invocation produced: the result as JSON text, or the error. */
export type Outcome = { readonly ok: true; readonly payload: string } | { readonly ok: false; readonly error: FunctionError };

/** Child → parent: init is done and the handler is being called; the timeout starts now. */
export interface StartedMessage {
  readonly type: "started";
  readonly requestId: string;
}

/** Child → parent. */
export type ResultMessage = {
  readonly type: "result";
  readonly requestId: string;
  readonly maxRssBytes: number;
  /** From process start until the bundle was imported. */
  readonly initDurationMs: number;
} & Outcome;

type Handler = (event: unknown, context: object) => unknown;

// Only run as a process entry: the parent imports this module for its types alone.
if (process.send !== undefined && process.argv[2] !== undefined) {
  const tmp = process.env.TMPDIR;
  if (tmp !== undefined && process.argv[4] !== undefined) sizeEphemeralStorage(tmp, Number(process.argv[4]));
  serve(process.argv[2], process.argv[3] ?? "");
}

/**
 * Lambda's /tmp is a file system of the configured ephemeral storage size. Locally the function's
 * TMPDIR is a directory on the developer's disk, so statfs of a path inside it is answered as
 * Lambda's would be: `bytes` in all, less what the directory holds (and never more than the disk
 * really has free). Patched before the bundle is imported, so its imports of node:fs see it.
 */
function sizeEphemeralStorage(dir: string, bytes: number): void {
  const root = path.resolve(dir);
  const inside = (p: fs.PathLike) => {
    const rel = path.relative(root, path.resolve(String(p)));
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
  };
  const used = () => {
    let total = 0;
    for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      try {
        total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
      } catch {
        // removed while counting
      }
    }
    return total;
  };
  const view = <S extends StatsFs | fs.BigIntStatsFs>(p: fs.PathLike, real: S): S => {
    if (!inside(p)) return real;
    const num = (n: number | bigint) => Number(n);
    const bsize = num(real.bsize);
    const free = Math.max(0, Math.min(num(real.bavail), Math.floor((bytes - used()) / bsize)));
    const as = (n: number) => (typeof real.bsize === "bigint" ? BigInt(n) : n);
    return Object.assign(Object.create(Object.getPrototypeOf(real) as object) as S, real, {
      blocks: as(Math.floor(bytes / bsize)),
      bfree: as(free),
      bavail: as(free),
    });
  };
  const statfsSync = fs.statfsSync;
  const statfsPromise = fs.promises.statfs;
  const statfsCallback = fs.statfs;
  Object.assign(fs, {
    statfsSync: (p: fs.PathLike, options?: fs.StatFsOptions) => view(p, statfsSync(p, options)),
    statfs: (p: fs.PathLike, ...rest: unknown[]) => {
      const callback = rest.pop() as (err: Error | null, stats?: StatsFs | fs.BigIntStatsFs) => void;
      (statfsCallback as (...a: unknown[]) => void)(p, ...rest, (err: Error | null, real?: StatsFs) => callback(err, err || !real ? real : view(p, real)));
    },
  });
  Object.assign(fs.promises, { statfs: async (p: fs.PathLike, options?: fs.StatFsOptions) => view(p, await statfsPromise(p, options)) });
  syncBuiltinESMExports();
}

function serve(bundleFile: string, marker: string): void {
  const exportName = (process.env._HANDLER ?? "index.handler").split(".").pop() ?? "handler";
  const init: Promise<Handler | FunctionError> = import(pathToFileURL(bundleFile).href).then(
    (module: Record<string, unknown>) => {
      const handler = module[exportName];
      if (typeof handler === "function") return handler as Handler;
      return {
        errorType: "Runtime.HandlerNotFound",
        errorMessage: `${process.env._HANDLER} is undefined or not exported`,
      };
    },
    // An error while importing (a missing environment variable, say) fails every invocation
    // with the real message, as Lambda reports init errors.
    (error: unknown) => toFunctionError(error),
  );
  let initDurationMs = 0;
  void init.then((loaded) => {
    initDurationMs = performance.now();
    if (typeof loaded !== "function") console.error(`ERROR\tInit Error\t${JSON.stringify(loaded)}`);
  });

  let chain = Promise.resolve();
  process.on("message", (message: InvokeMessage) => {
    chain = chain.then(async () => {
      const loaded = await init;
      const started: StartedMessage = { type: "started", requestId: message.requestId };
      process.send?.(started);
      const deadline = Date.now() + message.timeoutMs;
      const outcome: Outcome = typeof loaded === "function" ? await run(loaded, message, deadline) : { ok: false, error: loaded };
      // The Node.js runtime logs unhandled errors too, so they show up in the log stream.
      if (!outcome.ok) console.error(`${message.requestId}\tERROR\tInvoke Error\t${JSON.stringify(outcome.error)}`);
      process.stdout.write(`${marker}\n`);
      process.stderr.write(`${marker}\n`);
      const reply: ResultMessage = {
        type: "result",
        requestId: message.requestId,
        // The process's peak, as Lambda's Max Memory Used is; maxRSS is in KiB.
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        initDurationMs,
        ...outcome,
      };
      process.send?.(reply);
    });
  });
  // The parent is gone: a Lambda environment without its control plane has nothing left to do.
  process.on("disconnect", () => process.exit(0));
}

async function run(handler: Handler, message: InvokeMessage, deadline: number): Promise<Outcome> {
  let event: unknown;
  try {
    event = JSON.parse(new TextDecoder().decode(message.payload));
  } catch (error) {
    return { ok: false, error: { errorType: "Runtime.InvalidEvent", errorMessage: String(error) } };
  }
  const env = process.env;
  const context = {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let result: unknown;
  try {
    result = await handler(event, context);
  } catch (error) {
    return { ok: false, error: toFunctionError(error) };
  }
  try {
    // Lambda answers `null` for a handler that returns nothing.
    return { ok: true, payload: JSON.stringify(result) ?? "null" };
  } catch (error) {
    return {
      ok: false,
      error: { errorType: "Runtime.MarshalError", errorMessage: `Unable to marshal response: ${String(error)}` },
    };
  }
}

/** The shape the Node.js runtime gives an unhandled error. */
function toFunctionError(error: unknown): FunctionError {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? "").split("\n") };
  }
  return { errorType: typeof error, errorMessage: typeof error === "string" ? error : JSON.stringify(error) ?? String(error) };
}
