/**
 * moto_server, an independent AWS emulator, on an ephemeral loopback port: what the real-terraform
 * tests and `npm run plan:local` apply the synthesized stack to. One port serves every service.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { findExecutable } from "./executables.ts";

export interface MotoServer {
  /** `http://127.0.0.1:<port>`, for every service. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

export const MOTO_SERVER = "moto_server";

/** How to get moto_server, for the messages of whoever needs it. */
export const MOTO_INSTALL_HINT = 'install it with `pip install "moto[server]"` (Python 3.9+), or `pipx install "moto[server]"`';

const STARTUP_TIMEOUT_MS = 30_000;

export async function startMotoServer(executable = findExecutable(MOTO_SERVER)): Promise<MotoServer> {
  if (executable === undefined) throw new Error(`${MOTO_SERVER} is not on PATH: ${MOTO_INSTALL_HINT}`);
  // Its own process group: moto_server is often a shim (pyenv, pipx) that starts python as a child,
  // and stopping the shim alone would leave the server running.
  const child = spawn(executable, ["-H", "127.0.0.1", "-p", "0"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const endpoint = await announcedEndpoint(child);
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}

/** Werkzeug prints `Running on http://127.0.0.1:PORT` once it listens; port 0 picks a free port. */
function announcedEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`${MOTO_SERVER} did not start within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output}`)), STARTUP_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) done(match[1]!);
    };
    const onExit = (code: number | null) => fail(new Error(`${MOTO_SERVER} exited with code ${code} before it listened:\n${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
      child.off("error", fail);
      // Keep draining, or a full pipe would block the server.
      child.stdout!.resume();
      child.stderr!.resume();
    };
    function done(endpoint: string) {
      cleanup();
      resolve(endpoint);
    }
    function fail(err: Error) {
      cleanup();
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      reject(err);
    }
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", fail);
  });
}
