/**
 * docs/local-cloud.md's "Make a payload fail, then replay it": `npm run local` with a consumer
 * whose business function always throws and a state directory, a payload sent with
 * `npm run invoke`, Ctrl-C, `npm run local` again with the real consumer and the same directory,
 * then `npm run redrive` lists and replays the record. Every command runs as its own process, as a
 * user runs it; ports are free ones, so the commands carry the `--endpoint-url` the banner gives.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { DEFAULT_CONSUMER_NAME } from "../lib/contract.ts";
import type { SenderResponse } from "./sender-client.ts";
import { cleanEnv, runScript, startScript, transcript, type RunningScript } from "./test-support.ts";

const FAILING_CONSUMER = "local/fixtures/failing-consumer-handler.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "local-state-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `npm run local` on free ports; resolves once its banner is printed, with its Lambda endpoint. */
async function npmRunLocal(args: string[]): Promise<{ local: RunningScript; lambdaEndpoint: string; banner: string }> {
  const local = startScript("cli/local.ts", ["--lambda-port", "0", "--s3-port", "0", ...args], { env: cleanEnv() });
  await local.waitForLine((l) => l.trim().startsWith("npm run invoke -- payload-large.json"), "its banner");
  const banner = local.lines.join("\n");
  const lambdaEndpoint = /Lambda API\s+(http:\/\/\S+)/.exec(banner)?.[1];
  assert.ok(lambdaEndpoint, `the banner names the Lambda endpoint:\n${banner}`);
  return { local, lambdaEndpoint, banner };
}

async function stop(local: RunningScript): Promise<void> {
  const r = await local.interrupt();
  assert.equal(r.code, 0, `Ctrl-C stops npm run local cleanly\n${transcript(r)}`);
}

test("the docs' recipe: a payload fails for good, its record survives a restart, and redrive replays it once", async () => {
  const stateDir = path.join(dir, "state");
  const first = await npmRunLocal(["--state-dir", stateDir, "--consumer", FAILING_CONSUMER]);
  let id: string;
  try {
    assert.ok(first.banner.includes(`State (objects, records, idempotency) is kept in ${stateDir}`), first.banner);
    assert.ok(first.banner.includes(`${DEFAULT_CONSUMER_NAME} runs ${FAILING_CONSUMER}`), first.banner);
    const file = path.join(dir, "order.json");
    await writeFile(file, '{"order":42}');
    const sent = await runScript("cli/invoke.ts", [file, "--endpoint-url", first.lambdaEndpoint], { env: cleanEnv() });
    assert.equal(sent.code, 0, transcript(sent));
    id = (JSON.parse(sent.stdout) as SenderResponse).id;
    // The local Lambda retries twice, then writes the record and says so.
    await first.local.waitForLine((l) => l.includes("failed for good (RetriesExhausted after 3 attempts); on-failure record written to s3://"), "the failure record line");
  } finally {
    await stop(first.local);
  }

  const second = await npmRunLocal(["--state-dir", stateDir]);
  try {
    const redrive = (...args: string[]) => runScript("cli/redrive.ts", [...args, "--endpoint-url", second.lambdaEndpoint], { env: cleanEnv() });
    const listed = await redrive();
    assert.equal(listed.code, 0, transcript(listed));
    assert.match(listed.stdout, new RegExp(`^\\s+\\d+s\\s+${id}\\s+inline\\s+12 B\\s+InjectedFault: processPayload is down`, "m"));
    assert.ok(listed.stdout.includes(`1 record. Replay them with: npm run redrive -- --replay --endpoint-url ${second.lambdaEndpoint}`), listed.stdout);

    const replayed = await redrive("--replay");
    assert.equal(replayed.code, 0, transcript(replayed));
    assert.match(replayed.stdout, /1 record: 1 replayed and removed, 0 kept\./);
    await second.local.waitForLine((l) => l.startsWith(`[${DEFAULT_CONSUMER_NAME}] {`) && l.includes('"payload received"') && l.includes(id), "the consumer's payload received line");
    const again = await redrive();
    assert.match(again.stdout, /No failure records\./);
  } finally {
    await stop(second.local);
  }
});

test("docs/local-cloud.md gives the same commands", async () => {
  const page = await readFile(path.join(PROJECT_ROOT, "docs", "local-cloud.md"), "utf8");
  const section = page.slice(page.indexOf("### Make a payload fail, then replay it"));
  assert.ok(section.length > 0 && page.includes("### Make a payload fail, then replay it"), "the section exists");
  for (const command of [
    `npm run local -- --state-dir .local --consumer ${FAILING_CONSUMER}`,
    "npm run invoke -- payload.json",
    "npm run local -- --state-dir .local",
    "npm run redrive",
    "npm run redrive -- --replay",
  ]) {
    assert.ok(section.includes(command), `the section shows \`${command}\``);
  }
});
