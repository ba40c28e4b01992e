/**
 * Shared by the CLI tests: `npm run local`'s server started in-process on ephemeral ports with
 * everything it prints captured, and a child-process runner that returns what a user sees in a
 * terminal (exit code, stdout, stderr).
 */
import { spawn } from "node:child_process";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { DEFAULT_CONSUMER_NAME } from "../lib/contract.ts";
import type { LocalCloud } from "../local/cloud.ts";
import { loadProjectConfig } from "../stacks/project-config.ts";
import type { Environment } from "../stacks/config.ts";
import { runLocalServer } from "./local-server.ts";

export interface RunningServer {
  readonly cloud: LocalCloud;
  /** Everything `print` received, in order: the banner first, then one entry per function log line. */
  readonly printed: readonly string[];
  /**
   * The consumer's "payload received" line for `id` as printed (prefix and all), and its JSON.
   * Waits for it (until the cloud is idle); fails if the line was logged but not printed with the
   * consumer's prefix.
   */
  printedDelivery(id: string): Promise<{ line: string; json: Record<string, unknown> }>;
}

/** `npm run local` with these settings (the environment replaces process.env), on ports 0. */
export async function startServer(env: Environment = {}): Promise<RunningServer> {
  const printed: string[] = [];
  const cloud = await runLocalServer(loadProjectConfig(env), { lambdaPort: 0, s3Port: 0, print: (line) => printed.push(line) });
  const consumerLine = new RegExp(`^\\[${DEFAULT_CONSUMER_NAME}\\] (\\{.*\\})$`);
  const receivedJson = (line: string, id: string) => {
    const m = consumerLine.exec(line);
    if (!m) return undefined;
    try {
      const json = JSON.parse(m[1]!) as Record<string, unknown>;
      return json.message === "payload received" && json.id === id ? json : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    cloud,
    printed,
    async printedDelivery(id) {
      await cloud.waitForLog(cloud.settings.consumerName, (l) => l.includes("payload received") && l.includes(id));
      for (const line of printed) {
        const json = receivedJson(line, id);
        if (json) return { line, json };
      }
      throw new Error(`The consumer logged "payload received" for ${id}, but no printed line shows it as "[${DEFAULT_CONSUMER_NAME}] {...}". Printed:\n${printed.slice(-10).join("\n")}`);
    },
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** @default the project root, where a user runs the npm scripts */
  readonly cwd?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  readonly input?: Uint8Array;
  /**
   * Kills the process (and fails the run) when it printed nothing for this long: a bound for a
   * hang, not a duration. A busy machine only slows a run down; one that still prints is waited for.
   * @default 300_000
   */
  readonly silenceLimitMs?: number;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: options.env ?? process.env, stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const silenceLimitMs = options.silenceLimitMs ?? 300_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} printed nothing for ${silenceLimitMs / 1000} s and was killed. stdout:\n${Buffer.concat(out)}\nstderr:\n${Buffer.concat(err)}`));
    }, silenceLimitMs);
    child.stdout.on("data", (c: Buffer) => {
      out.push(c);
      timer.refresh();
    });
    child.stderr.on("data", (c: Buffer) => {
      err.push(c);
      timer.refresh();
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.on("error", () => {}); // a process that exits without reading stdin
    child.stdin.end(options.input);
  });
}

/** A project TypeScript entry point run the way the npm scripts run it. */
export function runScript(script: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [script, ...args], options);
}

/** For messages: everything a run printed. */
export function transcript(r: RunResult): string {
  return `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/**
 * The environment of the parent without project settings or AWS variables, so a developer's
 * shell (STACK_*, AWS_PROFILE, AWS_ENDPOINT_URL, …) cannot change what a test sees.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(STACK_|AWS_|CDKTF_)/.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunningScript {
  /** Every line printed on stdout so far. */
  readonly lines: readonly string[];
  /**
   * Resolves with the first stdout line (since start) that satisfies `predicate`; rejects if the
   * process exits without printing one. No clock: it waits as long as the process runs.
   */
  waitForLine(predicate: (line: string) => boolean, what: string): Promise<string>;
  /** Sends SIGINT (Ctrl-C) and resolves with the run's result once it exited. */
  interrupt(): Promise<RunResult>;
}

/** A long-running project script (`npm run local`), started the way the npm scripts start it. */
export function startScript(script: string, args: readonly string[], options: Pick<RunOptions, "env" | "cwd"> = {}): RunningScript {
  const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd ?? PROJECT_ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const err: Buffer[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr.on("data", (c: Buffer) => err.push(c));
  let done = false;
  const exited = new Promise<RunResult>((resolve) => {
    child.on("close", (code, signal) => {
      if (partial !== "") lines.push(partial);
      done = true;
      resolve({ code, signal, stdout: lines.join("\n"), stderr: Buffer.concat(err).toString("utf8") });
      for (const wake of waiters) wake();
    });
  });
  return {
    lines,
    waitForLine(predicate, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find(predicate);
          if (line !== undefined) {
            waiters.delete(check);
            resolve(line);
          } else if (done) {
            waiters.delete(check);
            void exited.then((r) => reject(new Error(`${script} exited without printing ${what}\n${transcript(r)}`)));
          }
        };
        waiters.add(check);
        check();
      });
    },
    interrupt() {
      if (!done) child.kill("SIGINT");
      return exited;
    },
  };
}
