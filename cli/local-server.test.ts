/**
 * `npm run local`'s server, started in-process on ephemeral ports and driven the way a user
 * drives it: the AWS SDK over HTTP at the endpoints the banner prints, raw sockets for abuse, the
 * real AWS CLI running the very lines the banner prints, and the printed log lines for what
 * happened inside the functions. Objects are kept after processing and compression is off, as the
 * README's `STACK_DELETE_AFTER_PROCESSING=false STACK_COMPRESS_INLINE=false npm run local` does, so
 * the sample-shaped payload takes the S3 route and `aws s3 ls` has something to show.
 */
import assert from "node:assert/strict";
import { constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { access, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, DEFAULT_PAYLOAD_PREFIX, EVENT_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { LOCAL_BUCKET } from "../local/cloud.ts";
import { sha256 } from "../local/payloads.ts";
import { largeSample } from "./samples.ts";
import { LOCAL_CREDENTIALS, type SenderResponse } from "./sender-client.ts";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { awsCliVersion, isKnown, type AwsCli, type UnknownAwsCli } from "./aws-cli.ts";
import { awsCliCommands, banner as bannerOf, type Endpoints } from "./local-server.ts";
import { DEFAULT_LAMBDA_PORT, DEFAULT_LOCAL_LAMBDA_ENDPOINT, DEFAULT_LOCAL_S3_ENDPOINT, DEFAULT_S3_PORT } from "./ports.ts";
import { cleanEnv, run, startServer, transcript, type RunningServer } from "./test-support.ts";

interface InstalledAwsCli extends AwsCli {
  readonly file: string;
}

/**
 * Every `aws` on PATH, in PATH order (the first is what a shell runs), identified by `aws --version`;
 * one that runs but does not tell its version is kept as unknown, so the banner test can name it.
 */
async function installedAwsClis(): Promise<Array<InstalledAwsCli | (UnknownAwsCli & { readonly file: string })>> {
  const candidates = new Map<string, string>();
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, "aws");
    try {
      await access(file, constants.X_OK);
      const real = await realpath(file);
      if (!candidates.has(real)) candidates.set(real, file);
    } catch {
      // not here
    }
  }
  const found = await Promise.all([...candidates.values()].map(async (file) => ({ file, version: await awsCliVersion(file, cleanEnv()) })));
  return found.flatMap(({ file, version }) => (version ? [{ file, ...version }] : []));
}

const probed = await installedAwsClis();
const installed = probed.filter((c): c is InstalledAwsCli => isKnown(c));

/** One CLI per major version, to paste the commands for that version into. */
function onePerMajor(clis: readonly InstalledAwsCli[]): InstalledAwsCli[] {
  const byMajor = new Map<number, InstalledAwsCli>();
  for (const cli of clis) if (!byMajor.has(cli.major)) byMajor.set(cli.major, cli);
  return [...byMajor.values()].sort((a, b) => a.major - b.major);
}

const clis = onePerMajor(installed);

let server: RunningServer;
let banner: string;
let lambdaEndpoint: string;
let s3Endpoint: string;
let lambda: LambdaClient;
let s3: S3Client;
/** For the AWS CLI: a directory per CLI version, and `npm run sample-payload`'s output. */
let dir: string;
let largeFile: Buffer;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "local-server-"));
  const [started, sample] = await Promise.all([
    startServer({ STACK_DELETE_AFTER_PROCESSING: "false", STACK_COMPRESS_INLINE: "false" }),
    clis.length > 0 ? run("npm", ["run", "--silent", "sample-payload"], { env: cleanEnv() }) : undefined,
  ]);
  server = started;
  if (sample) {
    assert.equal(sample.code, 0, transcript(sample));
    largeFile = Buffer.from(sample.stdout, "utf8");
  }
  banner = server.printed[0] ?? "";
  // Talk to the endpoints the banner advertises, as a user copying them would.
  lambdaEndpoint = /Lambda API\s+(http:\/\/\S+)/.exec(banner)?.[1] ?? "(no Lambda endpoint in the banner)";
  s3Endpoint = /S3\s+(http:\/\/\S+)/.exec(banner)?.[1] ?? "(no S3 endpoint in the banner)";
  const client = { region: server.cloud.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  lambda = new LambdaClient({ ...client, endpoint: lambdaEndpoint });
  s3 = new S3Client({ ...client, endpoint: s3Endpoint, forcePathStyle: true });
});

after(async () => {
  lambda?.destroy();
  s3?.destroy();
  await server?.cloud.close();
  // Idempotent after a working close(); after a leaky one, keeps this file from hanging.
  await Promise.all([server?.cloud.lambda.close(), server?.cloud.s3.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function invokeSender(body: Uint8Array): Promise<SenderResponse> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: DEFAULT_SENDER_NAME, Payload: body }));
  const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined, text);
  return JSON.parse(text) as SenderResponse;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("the banner shows the real endpoints, the bucket and commands to paste for the AWS CLI on PATH", () => {
  const { cloud } = server;
  assert.match(banner, /^Local cloud is running\. Ctrl-C stops it\./);
  assert.equal(lambdaEndpoint, cloud.lambdaEndpoint);
  assert.equal(s3Endpoint, cloud.s3Endpoint);
  assert.match(lambdaEndpoint, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/, "a real port, not the 0 it was asked for");
  assert.match(s3Endpoint, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  assert.match(banner, new RegExp(`bucket ${LOCAL_BUCKET}, prefix ${DEFAULT_PAYLOAD_PREFIX}`));
  assert.match(banner, /objects are kept after processing/, "STACK_DELETE_AFTER_PROCESSING=false is reported");
  assert.match(banner, /Inline limit 1048576 bytes, compression off;/, "STACK_COMPRESS_INLINE=false is reported");
  const lines = banner.split("\n").map((l) => l.trim());
  // What the user's shell runs; without any, the banner gives v2's commands (the current CLI).
  const firstProbed = probed[0];
  if (firstProbed && !isKnown(firstProbed)) assert.fail(`this test cannot tell which AWS CLI ${firstProbed.file} is: ${firstProbed.unknown}`);
  const first = installed[0];
  const flag = "--cli-binary-format raw-in-base64-out";
  const invokeFlag = first?.major === 1 ? "" : ` ${flag}`;
  assert.ok(lines.includes(`Try it from another terminal, with ${first ? `the AWS CLI on your PATH (${first.version})` : `the AWS CLI v2 (no \`aws\` found on PATH; with v1, leave out ${flag})`}:`), banner);
  for (const command of [
    `export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=${cloud.region}`,
    `aws lambda invoke --endpoint-url ${lambdaEndpoint} --function-name ${DEFAULT_SENDER_NAME}${invokeFlag} --payload '{"key":"value"}' response.json && cat response.json`,
    "npm run --silent sample-payload > payload-large.json",
    `aws lambda invoke --endpoint-url ${lambdaEndpoint} --function-name ${DEFAULT_SENDER_NAME}${invokeFlag} --payload file://payload-large.json response.json && cat response.json`,
    `aws s3 ls --endpoint-url ${s3Endpoint} s3://${LOCAL_BUCKET}/ --recursive`,
    // Not the default port, so the npm commands get the Lambda endpoint in use.
    `npm run invoke -- payload-large.json --endpoint-url ${lambdaEndpoint}`,
    `Functions run on Node.js ${process.version} here, nodejs22.x when deployed`,
  ]) {
    assert.ok(lines.includes(command), `the banner has the line\n  ${command}\nBanner:\n${banner}`);
  }
  assert.deepEqual(awsCliCommands(cloud, first?.major ?? 2).filter((c) => !lines.includes(c)), [], "the banner's commands are awsCliCommands(), which the AWS CLI test below pastes");
  assert.ok(lines.some((l) => l.endsWith(`(npm run redrive -- --endpoint-url ${lambdaEndpoint})`)), `the redrive hint names the Lambda endpoint in use:\n${banner}`);
});

test("on the default ports the banner's npm commands need no endpoint; an `aws` that does not tell its version is named", () => {
  const facts = { ...server.cloud, lambdaEndpoint: DEFAULT_LOCAL_LAMBDA_ENDPOINT, s3Endpoint: DEFAULT_LOCAL_S3_ENDPOINT, runtime: "nodejs24.x" };
  const lines = bannerOf(facts, { unknown: "`aws --version` gave no answer within 180 s" }).split("\n").map((l) => l.trim());
  assert.ok(lines.includes("npm run invoke -- payload-large.json"), lines.join("\n"));
  assert.ok(lines.some((l) => l.endsWith("(npm run redrive)")), lines.join("\n"));
  assert.ok(lines.includes(`Functions run on Node.js ${process.version} here, nodejs24.x when deployed`), lines.join("\n"));
  assert.ok(
    lines.includes("Try it from another terminal, with the AWS CLI v2 (`aws --version` gave no answer within 180 s; with v1, leave out --cli-binary-format raw-in-base64-out):"),
    lines.join("\n"),
  );
});

/** The shell commands in the docs section `heading`, continuation lines joined, comments dropped. */
function readmeCommands(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/local-cloud.md has the section ${heading}`);
  const section = readme.slice(start + heading.length + 2, readme.indexOf("\n## ", start + 1));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.replace(/\\\n\s*/g, "").split("\n"))
    .map((l) => l.replace(/\s{2,}# .*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

test("the AWS CLI commands of docs/local-cloud.md are exactly the banner's for the default ports, for v1 and for v2", async () => {
  const readme = await readFile(path.join(PROJECT_ROOT, "docs", "local-cloud.md"), "utf8");
  const commands = readmeCommands(readme, "## Run it locally with the AWS CLI");
  const defaults: Endpoints = {
    settings: server.cloud.settings,
    lambdaEndpoint: `http://127.0.0.1:${DEFAULT_LAMBDA_PORT}`,
    s3Endpoint: `http://127.0.0.1:${DEFAULT_S3_PORT}`,
    region: server.cloud.region,
  };
  const v1 = awsCliCommands(defaults, 1);
  const v2 = awsCliCommands(defaults, 2);
  for (const [name, expected] of [["v1", v1], ["v2", v2]] as const) {
    assert.deepEqual(expected.filter((c) => !commands.includes(c)), [], `every ${name} command is in docs/local-cloud.md`);
  }
  const awsLines = commands.filter((c) => c.startsWith("aws "));
  assert.deepEqual(awsLines.filter((c) => !v1.includes(c) && !v2.includes(c)), [], "every aws command in docs/local-cloud.md is one the CLI test below pastes");
});

test('{"key":"value"} goes inline and the consumer logs it, prefixed with its name', async () => {
  const sent = Buffer.from('{"key":"value"}');
  const r = await invokeSender(sent);
  assert.equal(r.route, "inline");
  assert.match(r.id, UUID);
  assert.equal(r.format, "json");
  assert.equal(r.size, 15);
  assert.equal(r.sha256, sha256(sent));
  assert.equal(r.bucket, undefined);
  assert.equal(r.key, undefined);

  const { json } = await server.printedDelivery(r.id);
  assert.equal(json.route, "inline");
  assert.equal(json.size, sent.length);
  assert.equal(json.sha256, sha256(sent));
  const senderLine = server.printed.find((l) => l.startsWith(`[${DEFAULT_SENDER_NAME}] {`) && l.includes('"payload sent"') && l.includes(r.id));
  assert.ok(senderLine, "the sender's own log line is printed with its name");
});

test("a sample-shaped payload above the limit goes through S3, and the kept object is listed", async () => {
  const limit = server.cloud.settings.inlineLimitBytes;
  assert.equal(limit, EVENT_PAYLOAD_LIMIT_BYTES, "the default limit applies");
  const sent = Buffer.from(JSON.stringify(largeSample(limit)));
  assert.ok(sent.length > limit);
  const r = await invokeSender(sent);
  assert.equal(r.route, "s3");
  assert.equal(r.reason, "too-large");
  assert.match(r.id, UUID);
  assert.equal(r.size, sent.length);
  assert.equal(r.sha256, sha256(sent));
  assert.equal(r.bucket, LOCAL_BUCKET);
  assert.ok(r.key?.startsWith(DEFAULT_PAYLOAD_PREFIX) && r.key.includes(r.id), `key ${r.key}`);

  const { json } = await server.printedDelivery(r.id);
  assert.deepEqual(
    { route: json.route, size: json.size, sha256: json.sha256, bucket: json.bucket, key: json.key },
    { route: "s3", size: sent.length, sha256: sha256(sent), bucket: r.bucket, key: r.key },
  );

  // What `aws s3 ls` shows after delivery when objects are kept.
  await server.cloud.idle();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, Prefix: DEFAULT_PAYLOAD_PREFIX }));
  const object = listed.Contents?.find((o) => o.Key === r.key);
  assert.ok(object, `ListObjectsV2 lists ${r.key}; got ${JSON.stringify(listed.Contents?.map((o) => o.Key))}`);
  assert.equal(object.Size, sent.length);
});

test("an Event invoke of AsynchronousFunction over 1,048,576 bytes is refused with 413, like AWS", async () => {
  const body = Buffer.from(JSON.stringify({ data: "x".repeat(EVENT_PAYLOAD_LIMIT_BYTES + 1 - '{"data":""}'.length) }));
  assert.equal(body.length, EVENT_PAYLOAD_LIMIT_BYTES + 1);
  const printedBefore = server.printed.length;
  await assert.rejects(
    lambda.send(new InvokeCommand({ FunctionName: DEFAULT_CONSUMER_NAME, InvocationType: "Event", Payload: body })),
    (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, "RequestEntityTooLargeException");
      assert.equal(err.$metadata?.httpStatusCode, 413);
      assert.match(err.message, /1048577 byte payload is too large for the Event invocation type \(limit 1048576 bytes\)/);
      return true;
    },
  );
  await server.cloud.idle();
  assert.deepEqual(server.printed.slice(printedBefore), [], "the consumer never ran");
});

/** Sends raw bytes and returns whatever comes back before the server closes the connection. */
function rawExchange(endpoint: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error(`${endpoint} kept a garbage connection open`)));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.end(Buffer.from(bytes, "latin1"));
  });
}

test("bad requests get errors, and the server still delivers afterwards", async () => {
  const unknown = await fetch(`${lambdaEndpoint}/no/such/operation%zz?x=%zz`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get("x-amzn-errortype"), "UnknownOperationException");

  const notJson = await fetch(`${lambdaEndpoint}/2015-03-31/functions/${DEFAULT_SENDER_NAME}/invocations`, { method: "POST", body: "{not json" });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.headers.get("x-amzn-errortype"), "InvalidRequestContentException");

  const notUtf8 = await fetch(`${lambdaEndpoint}/2015-03-31/functions/${DEFAULT_SENDER_NAME}/invocations`, { method: "POST", body: new Uint8Array([0x22, 0xff, 0x22]) });
  assert.equal(notUtf8.status, 400);

  for (const endpoint of [lambdaEndpoint, s3Endpoint]) {
    const reply = await rawExchange(endpoint, "\x00\xff\x16\x03\x01 garbage \r\n\r\nGET / HTTP/9.9\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/, `${endpoint} answered garbage with ${JSON.stringify(reply.slice(0, 80))}`);
  }

  const sent = Buffer.from('{"after":"garbage"}');
  const r = await invokeSender(sent);
  assert.equal(r.route, "inline");
  assert.equal((await server.printedDelivery(r.id)).json.sha256, sha256(sent));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET }));
  assert.equal(listed.$metadata.httpStatusCode, 200, "S3 still answers");
});

// Both versions at once: each is mostly Python start-up, and the server takes invocations in turn.
describe("the banner's and docs' AWS CLI commands, pasted into each installed major version", { concurrency: true }, () => {
  if (clis.length === 0) {
    test("AWS CLI", (t) => {
      t.skip("aws CLI not installed");
    });
  }
  for (const cli of clis) {
    test(`AWS CLI v${cli.major} (${cli.version}, ${cli.file}): the commands for it deliver both routes; aws s3 ls lists the kept object`, async () => {
      const cwd = path.join(dir, `v${cli.major}`);
      await mkdir(cwd);
      await writeFile(path.join(cwd, "payload-large.json"), largeFile);
      // Keep the developer's ~/.aws out of it; the banner's export line supplies the rest.
      const env = cleanEnv({
        CLI_UNDER_TEST: cli.file,
        AWS_CONFIG_FILE: path.join(cwd, "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, "no-aws-credentials"),
        AWS_PAGER: "",
      });
      // What the banner prints for this version (and docs/local-cloud.md shows, for the default ports).
      const commands = awsCliCommands(server.cloud, cli.major);
      const line = (start: string, marker = "") => {
        const found = commands.find((c) => c.startsWith(start) && c.includes(marker));
        assert.ok(found, `a v${cli.major} command starts with ${JSON.stringify(start)} and contains ${JSON.stringify(marker)}: ${commands.join("\n")}`);
        return found;
      };
      const paste = async (command: string) => {
        const script = ["set -e", line("export AWS_ACCESS_KEY_ID="), 'aws() { "$CLI_UNDER_TEST" "$@"; }', command].join("\n");
        const r = await run("bash", ["-c", script], { cwd, env });
        assert.equal(r.code, 0, `${command}\n${transcript(r)}`);
        return r;
      };
      const response = async (r: { stdout: string }) => {
        const text = await readFile(path.join(cwd, "response.json"), "utf8");
        assert.match(r.stdout, /"StatusCode": 200/);
        assert.ok(r.stdout.trimEnd().endsWith(text.trimEnd()), `\`&& cat response.json\` shows the response:\n${r.stdout}`);
        return JSON.parse(text) as SenderResponse;
      };

      const small = await response(await paste(line("aws lambda invoke", `--payload '{"key":"value"}' response.json`)));
      assert.equal(small.route, "inline");
      assert.equal(small.size, 15);
      assert.equal(small.sha256, sha256('{"key":"value"}'));
      assert.equal((await server.printedDelivery(small.id)).json.sha256, small.sha256);

      const large = await response(await paste(line("aws lambda invoke", "--payload file://payload-large.json response.json")));
      assert.equal(large.route, "s3");
      assert.equal(large.reason, "too-large");
      assert.equal(large.size, largeFile.length);
      assert.equal(large.sha256, sha256(largeFile));
      assert.equal(large.bucket, LOCAL_BUCKET);
      assert.ok(large.key?.startsWith(DEFAULT_PAYLOAD_PREFIX), `key ${large.key}`);
      const delivered = (await server.printedDelivery(large.id)).json;
      assert.deepEqual({ route: delivered.route, size: delivered.size, sha256: delivered.sha256 }, { route: "s3", size: largeFile.length, sha256: large.sha256 });

      const listed = await paste(line("aws s3 ls"));
      const escapedKey = large.key!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(listed.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${largeFile.length} ${escapedKey}$`, "m"));
    });
  }
});

test("every function log line is printed, in order, prefixed with the function's name", () => {
  const functionLines = server.printed.slice(1);
  const names = [DEFAULT_SENDER_NAME, DEFAULT_CONSUMER_NAME];
  assert.deepEqual(
    functionLines,
    server.cloud.logs.map((l) => `[${l.functionName}] ${l.line}`),
  );
  for (const name of names) {
    assert.ok(functionLines.some((l) => l.startsWith(`[${name}] START RequestId: `)), `${name}'s START lines are printed`);
    assert.ok(functionLines.some((l) => l.startsWith(`[${name}] REPORT RequestId: `)), `${name}'s REPORT lines are printed`);
  }
  const unprefixed = functionLines.filter((l) => !names.some((n) => l.startsWith(`[${n}] `)));
  assert.deepEqual(unprefixed, []);
});

/** Children of this process, from /proc (Linux). */
function children(): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid: Number(entry), cmd: state === "Z" ? `<zombie> ${cmd}` : cmd });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

test("close() stops the functions' processes and both servers", async (t) => {
  if (!existsSync("/proc/self/stat")) return t.skip("needs /proc to list child processes");
  // esbuild keeps an unref'd service process for the bundler; it does not hold the process open.
  const functionProcesses = () => children().filter((c) => !/esbuild --service/.test(c.cmd));
  const running = functionProcesses();
  assert.equal(running.length, 2, `one process per function while running: ${JSON.stringify(running)}`);

  await server.cloud.close();
  const leftover = functionProcesses();
  for (const { pid } of leftover) process.kill(pid, "SIGKILL");
  assert.deepEqual(leftover, [], "no child process outlives close()");
  for (const endpoint of [lambdaEndpoint, s3Endpoint]) {
    await assert.rejects(fetch(endpoint), (err: Error & { cause?: { code?: string } }) => err.cause?.code === "ECONNREFUSED", `${endpoint} is closed`);
  }
});
