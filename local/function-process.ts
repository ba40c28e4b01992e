/**
 * The parent side of one local execution environment: starts function-host in its own node
 * process with only the environment Lambda would give it, runs one invocation at a time with
 * a timeout, restarts the process after a timeout or crash, and turns its output into log lines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { FunctionError, InvokeMessage, Outcome, ResultMessage, StartedMessage } from "./function-host.ts";

/**
 * Lambda's limit on the init phase (importing the bundle), which comes before the function timeout
 * starts. Only a process that never gets its handler called runs into it.
 */
export const INIT_LIMIT_MS = 10_000;

/** Receives every log line: the function's stdout and stderr, and the runtime's START/END/REPORT lines. */
export type LogListener = (functionName: string, line: string) => void;

export type InvocationOutcome = {
  /** Log lines of this invocation, START to REPORT. */
  readonly logs: readonly string[];
} & Outcome;

export interface FunctionProcessOptions {
  readonly functionName: string;
  /** Absolute path of the function's esbuild bundle (`.mjs`). */
  readonly bundleFile: string;
  /** The complete environment of each new process; nothing is inherited from the parent. */
  readonly environment: () => Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memorySizeMb: number;
  /** The size the function's TMPDIR reports through statfs (see function-host.ts). */
  readonly ephemeralStorageBytes: number;
  /** Bundled function-host, from {@link buildFunctionHost}. */
  readonly hostFile: string;
  readonly onLog: LogListener;
}

/** Bundles function-host.ts into `dir` so children run it under plain node. */
export async function buildFunctionHost(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const outfile = path.join(dir, "function-host.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("./function-host.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    logLevel: "warning",
  });
  return outfile;
}

interface Running {
  readonly child: ChildProcess;
  readonly requestId: string;
  readonly logs: string[];
  result?: ResultMessage;
  /** Streams whose end-of-invocation marker has not arrived yet. */
  readonly awaitingMarker: Set<"stdout" | "stderr">;
  readonly settle: (outcome: Outcome) => void;
  /** The handler was called: the function timeout starts. */
  readonly startHandlerTimer: () => void;
}

/** One execution environment. Callers must not overlap {@link invoke} calls. */
export class FunctionProcess {
  private child: ChildProcess | undefined;
  private running: Running | undefined;
  /** True until the first invocation of a fresh process has run; its REPORT shows Init Duration. */
  private cold = false;
  private readonly marker = `\u001eLOCAL_LAMBDA_END_${randomBytes(8).toString("hex")}`;

  private readonly options: FunctionProcessOptions;

  constructor(options: FunctionProcessOptions) {
    this.options = options;
  }

  async invoke(requestId: string, payload: Uint8Array, invokedFunctionArn: string): Promise<InvocationOutcome> {
    if (this.running) throw new Error(`${this.options.functionName} is already running an invocation`);
    const { functionName, timeoutSeconds, memorySizeMb, onLog } = this.options;
    const child = this.child ?? this.start();
    const cold = this.cold;
    this.cold = false;
    const started = performance.now();
    const logs: string[] = [];
    const runtimeLine = (line: string) => {
      logs.push(line);
      onLog(functionName, line);
    };
    runtimeLine(`START RequestId: ${requestId} Version: $LATEST`);

    let settle!: (outcome: Outcome) => void;
    const settled = new Promise<Outcome>((resolve) => (settle = resolve));
    const timeOut = () => {
      const seconds = timeoutSeconds.toFixed(2);
      settle({
        ok: false,
        error: { errorType: "Sandbox.Timedout", errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds` },
      });
      // Like Lambda, the environment does not survive a timeout; the next invocation starts cold.
      this.stop(child);
    };
    // Until the handler is called (init, or the IPC hop of a warm process) the bound is the init
    // limit; from then on it is the function timeout, re-armed by startHandlerTimer.
    let timer = setTimeout(timeOut, INIT_LIMIT_MS + timeoutSeconds * 1000);
    const running: Running = {
      child,
      requestId,
      logs,
      awaitingMarker: new Set(["stdout", "stderr"]),
      startHandlerTimer: () => {
        clearTimeout(timer);
        timer = setTimeout(timeOut, timeoutSeconds * 1000);
      },
      settle: (outcome) => {
        clearTimeout(timer);
        settle(outcome);
      },
    };
    this.running = running;
    const message: InvokeMessage = {
      type: "invoke",
      requestId,
      invokedFunctionArn,
      timeoutMs: timeoutSeconds * 1000,
      payload,
    };
    child.send(message, (error) => {
      if (error) running.settle({ ok: false, error: exitError(requestId, `IPC send failed: ${error.message}`) });
    });
    const outcome = await settled;
    const result = running.result;
    this.running = undefined;

    // The child measures its own init (process start to bundle imported); Duration excludes it.
    const initMs = cold && result ? result.initDurationMs : 0;
    const duration = Math.max(0, performance.now() - started - initMs);
    const maxMemory = result ? `\tMax Memory Used: ${Math.ceil(result.maxRssBytes / 1_048_576)} MB` : "";
    const init = initMs > 0 ? `\tInit Duration: ${initMs.toFixed(2)} ms` : "";
    runtimeLine(`END RequestId: ${requestId}`);
    runtimeLine(
      `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms` +
        `\tMemory Size: ${memorySizeMb} MB${maxMemory}${init}`,
    );
    return { ...outcome, logs };
  }

  /** Kills the process; resolves once it has exited. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "exit");
    this.stop(child);
    await exited;
  }

  private start(): ChildProcess {
    const { bundleFile, environment, hostFile, functionName, onLog, ephemeralStorageBytes } = this.options;
    this.cold = true;
    const child = spawn(process.execPath, ["--enable-source-maps", hostFile, bundleFile, this.marker, String(ephemeralStorageBytes)], {
      cwd: path.dirname(bundleFile),
      env: environment(),
      // Advanced serialization carries the payload as bytes, not as a JSON-escaped string.
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    this.child = child;
    // Output and exit of a process that was replaced (after a timeout) belong to no invocation.
    const runningHere = () => (this.running?.child === child ? this.running : undefined);
    for (const stream of ["stdout", "stderr"] as const) {
      splitLines(child[stream]!, (line) => {
        const isMarker = line.endsWith(this.marker);
        const text = isMarker ? line.slice(0, -this.marker.length) : line;
        if (text !== "" || !isMarker) {
          runningHere()?.logs.push(text);
          onLog(functionName, text);
        }
        if (isMarker) {
          runningHere()?.awaitingMarker.delete(stream);
          this.completeIfReady(runningHere());
        }
      });
    }
    child.on("message", (message: ResultMessage | StartedMessage) => {
      const running = runningHere();
      if (running?.requestId !== message.requestId) return;
      if (message.type === "started") return running.startHandlerTimer();
      if (message.type !== "result") return;
      running.result = message;
      this.completeIfReady(running);
    });
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    // "close" comes after the output pipes are drained, so a crash's stack trace is in the logs.
    child.on("close", (code, signal) => {
      const running = runningHere();
      if (!running) return;
      if (running.result) {
        this.completeIfReady(running, true);
      } else {
        const reason = signal ? `signal: ${signal}` : `exit status ${code}`;
        running.settle({ ok: false, error: exitError(running.requestId, `Runtime exited with error: ${reason}`) });
      }
    });
    child.on("error", (error) => {
      const running = runningHere();
      running?.settle({ ok: false, error: exitError(running.requestId, `Runtime failed to start: ${error.message}`) });
    });
    return child;
  }

  private completeIfReady(running: Running | undefined, exited = false): void {
    const r = running?.result;
    if (!running || !r || (!exited && running.awaitingMarker.size > 0)) return;
    running.settle(r.ok ? { ok: true, payload: r.payload } : { ok: false, error: r.error });
  }

  private stop(child: ChildProcess): void {
    if (this.child === child) this.child = undefined;
    child.kill("SIGKILL");
  }
}

function exitError(requestId: string, reason: string): FunctionError {
  return { errorType: "Runtime.ExitError", errorMessage: `RequestId: ${requestId} Error: ${reason}` };
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) onLine(part.endsWith("\r") ? part.slice(0, -1) : part);
  });
  stream.on("end", () => {
    if (partial !== "") onLine(partial);
    partial = "";
  });
}
