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
  /** Kills the process (and fails the run) after this long. @default 30_000 */
  readonly timeoutMs?: number;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: options.env ?? process.env, stdio: "pipe" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not exit within ${timeoutMs} ms. stdout:\n${Buffer.concat(out)}\nstderr:\n${Buffer.concat(err)}`));
    }, timeoutMs);
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
  return run(process.execPath, ["--import", "tsx", script, ...args], options);
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
