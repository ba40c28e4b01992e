/**
 * `npm run local` when it cannot start, run as a user runs it: its own process, judged by the
 * exit code and what it prints. A busy port is the common case (a second `npm run local`).
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { cleanEnv, runScript, transcript, type RunResult } from "./test-support.ts";

let holder: net.Server;
let busyPort: number;

before(async () => {
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  busyPort = (holder.address() as net.AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => holder.close(resolve));
});

function npmRunLocal(args: string[]): Promise<RunResult> {
  return runScript("cli/local.ts", args, { env: cleanEnv() });
}

test("a busy S3 or Lambda port: exit 1 with one line naming the port and the option to change, no stack trace", async () => {
  const [s3, lambda] = await Promise.all([
    npmRunLocal(["--s3-port", String(busyPort), "--lambda-port", "0"]),
    npmRunLocal(["--lambda-port", String(busyPort), "--s3-port", "0"]),
  ]);
  for (const [r, option] of [[s3, "--s3-port"], [lambda, "--lambda-port"]] as const) {
    assert.equal(r.code, 1, transcript(r));
    assert.equal(r.stdout, "", "nothing started, so no banner");
    assert.equal(
      r.stderr,
      `Port ${busyPort} (${option}) is in use: another process, perhaps another \`npm run local\`, holds 127.0.0.1:${busyPort}. Stop it, or pass ${option} with a free port (0 picks one).\n`,
    );
  }
});

test("a port that is not a number is bad usage: exit 2 with the usage", async () => {
  const r = await npmRunLocal(["--s3-port", "abc"]);
  assert.equal(r.code, 2, transcript(r));
  assert.match(r.stderr, /^--s3-port must be a port number from 0 to 65535, got "abc"\nusage: npm run local/);
});
