/**
 * `npm run invoke -- <file|->`, run as a user runs it (its own process, files in a temp
 * directory, stdin) against `npm run local`'s server started in-process. Asserts on what the user
 * reads: the exit code, the printed response, stderr, and the consumer's printed log line.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULT_CONSUMER_NAME, DEFAULT_PAYLOAD_PREFIX, EVENT_PAYLOAD_LIMIT_BYTES, SYNC_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { LOCAL_BUCKET } from "../local/cloud.ts";
import { sha256 } from "../local/payloads.ts";
import { largestBinaryPayload } from "./request-body.ts";
import type { SenderResponse } from "./sender-client.ts";
import { cleanEnv, runScript, startServer, transcript, type RunningServer, type RunResult } from "./test-support.ts";

const INVOKE = "cli/invoke.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "invoke-cli-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function invoke(args: string[], input?: Uint8Array): Promise<RunResult> {
  return runScript(INVOKE, args, { env: cleanEnv(), ...(input && { input }) });
}

function printedResponse(r: RunResult): SenderResponse {
  assert.equal(r.code, 0, transcript(r));
  assert.equal(r.stderr, "", "nothing on stderr (no SDK Node-version warning)");
  try {
    return JSON.parse(r.stdout) as SenderResponse;
  } catch {
    assert.fail(`stdout is not the sender's JSON response:\n${transcript(r)}`);
  }
}

/** Starts and stops a server, so a port nothing listens on is known. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// A few cases at once: each is mostly the CLI's own start-up, and the server takes invocations in
// turn. More at once only makes each slower on two cores.
describe("npm run invoke", { concurrency: 3 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.cloud.close());
  const endpoint = () => ["--endpoint-url", server.cloud.lambdaEndpoint];

  test("a JSON file: exit 0 and the sender's response; the consumer gets its canonical JSON bytes", async () => {
    const file = path.join(dir, "payload.json");
    // As an editor saves it: spaces and a final newline. The Lambda runtime parses the event, so
    // what travels is its JSON.stringify form (README, "What the sender does").
    await writeFile(file, '{ "key": "value" }\n');
    const r = printedResponse(await invoke([file, ...endpoint()]));
    const canonical = Buffer.from('{"key":"value"}');
    assert.equal(r.route, "inline");
    assert.equal(r.format, "json");
    assert.equal(r.size, canonical.length);
    assert.equal(r.sha256, sha256(canonical));
    const { json } = await server.printedDelivery(r.id);
    assert.deepEqual({ route: json.route, format: json.format, size: json.size, sha256: json.sha256 }, { route: "inline", format: "json", size: 15, sha256: sha256(canonical) });
  });

  test("--binary sends a JSON file's exact bytes, spaces and newline included, as binary", async () => {
    const file = path.join(dir, "exact.json");
    const bytes = Buffer.from('{ "key": "value" }\n');
    await writeFile(file, bytes);
    const r = printedResponse(await invoke([file, "--binary", ...endpoint()]));
    assert.deepEqual({ route: r.route, format: r.format, size: r.size, sha256: r.sha256 }, { route: "inline", format: "binary", size: bytes.length, sha256: sha256(bytes) });
    assert.equal((await server.printedDelivery(r.id)).json.sha256, sha256(bytes));
  });

  test("binary bytes on stdin arrive as the exact bytes (through S3: base64 puts them over the limit)", async () => {
    // 0xff never occurs in UTF-8, so the CLI must send these as binary; the size makes the
    // base64 inline event about 1.07 MB, and stdin arrives in many chunks.
    const bytes = Buffer.concat([Buffer.from([0xff, 0x00, 0xfe]), randomBytes(Math.ceil((EVENT_PAYLOAD_LIMIT_BYTES * 3) / 4))]);
    const r = printedResponse(await invoke(["-", ...endpoint()], bytes));
    assert.equal(r.route, "s3");
    assert.equal(r.format, "binary");
    assert.equal(r.size, bytes.length);
    assert.equal(r.sha256, sha256(bytes));
    assert.equal(r.bucket, LOCAL_BUCKET);
    assert.ok(r.key?.startsWith(DEFAULT_PAYLOAD_PREFIX) && r.key.endsWith(".bin"), `key ${r.key}`);
    const { line, json } = await server.printedDelivery(r.id);
    assert.ok(line.startsWith(`[${DEFAULT_CONSUMER_NAME}] `));
    assert.deepEqual(
      { route: json.route, format: json.format, size: json.size, sha256: json.sha256 },
      { route: "s3", format: "binary", size: bytes.length, sha256: sha256(bytes) },
    );
  });

  test("a function error: exit 1 and the function's error message on stderr", async () => {
    const file = path.join(dir, "not-an-event.json");
    await writeFile(file, '{"foo":1}');
    const r = await invoke([file, "--function-name", DEFAULT_CONSUMER_NAME, ...endpoint()]);
    assert.equal(r.code, 1, transcript(r));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^${DEFAULT_CONSUMER_NAME} failed \\(Unhandled\\): \\w+: .*neither an inline payload envelope nor an S3 notification`));
  });

  test("nothing listening: exit 1, and the message says to start `npm run local`", async () => {
    const file = path.join(dir, "small.json");
    await writeFile(file, '{"key":"value"}');
    const r = await invoke([file, "--endpoint-url", `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(r.code, 1, transcript(r));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /ECONNREFUSED/);
    assert.match(r.stderr, /Is the local cloud running\? Start it with `npm run local`\./);
  });

  test("bad usage: exit 2 with a message saying what is wrong", async () => {
    const missing = path.join(dir, "no-such-file.json");
    const [noFile, badTarget, notFound, directory, unknown] = await Promise.all([
      invoke([]),
      invoke([missing, "--target", "moon"]),
      invoke([missing]),
      invoke([dir]),
      invoke([missing, "--bogus"]),
    ]);
    for (const r of [noFile, badTarget, notFound, directory, unknown]) {
      assert.equal(r.code, 2, transcript(r));
      assert.equal(r.stdout, "");
    }
    assert.match(noFile.stderr, /^usage: npm run invoke -- <file\|->/);
    assert.match(badTarget.stderr, /^--target must be "local" or "aws", got "moon"/);
    assert.equal(notFound.stderr, `Cannot read ${missing}: no such file\n`);
    assert.equal(directory.stderr, `Cannot read ${dir}: is a directory\n`);
    assert.match(unknown.stderr, /^Unknown option '--bogus'.*\nusage: npm run invoke -- <file\|->/s);
  });

  test("the size ceiling: the largest binary file the sender's invoke admits goes through the sender; a byte more, and a file over 6 MiB, go directly through the library", async () => {
    const largest = largestBinaryPayload(SYNC_PAYLOAD_LIMIT_BYTES);
    const fits = path.join(dir, "largest.bin");
    const over = path.join(dir, "over.bin");
    const big = path.join(dir, "big.bin");
    // 0xff never occurs in UTF-8, so all are sent as binary, base64 in the request; random bytes
    // do not compress, so none of them can go inline.
    const bytes = Buffer.concat([Buffer.from([0xff]), randomBytes(largest)]);
    const bigBytes = Buffer.concat([Buffer.from([0xff]), randomBytes(SYNC_PAYLOAD_LIMIT_BYTES + 3_000_000)]);
    await Promise.all([writeFile(fits, bytes.subarray(0, largest)), writeFile(over, bytes), writeFile(big, bigBytes)]);
    const s3 = ["--s3-endpoint-url", server.cloud.s3Endpoint];
    // The multipart one is given only the Lambda endpoint: it asks the local cloud for its S3 endpoint.
    const [ok, direct, multipart] = await Promise.all([invoke([fits, ...endpoint()]), invoke([over, ...endpoint(), ...s3]), invoke([big, ...endpoint()])]);

    const r = printedResponse(ok);
    assert.deepEqual({ route: r.route, format: r.format, size: r.size, sha256: r.sha256 }, { route: "s3", format: "binary", size: largest, sha256: sha256(bytes.subarray(0, largest)) });
    assert.equal((await server.printedDelivery(r.id)).json.sha256, r.sha256);

    for (const [run, expected, upload] of [[direct, bytes, "put"], [multipart, bigBytes, "multipart"]] as const) {
      const d = printedResponse(run) as SenderResponse & { upload?: string };
      assert.deepEqual(
        { route: d.route, upload: d.upload, format: d.format, size: d.size, sha256: d.sha256 },
        { route: "s3", upload, format: "binary", size: expected.length, sha256: sha256(expected) },
      );
      assert.equal((await server.printedDelivery(d.id)).json.sha256, d.sha256);
    }
  });
});
