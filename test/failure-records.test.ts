/**
 * Nothing is lost, through the bundles and the local cloud: events the consumer fails for good
 * end as Lambda's records in the S3 failure destination with their bytes intact, and
 * `npm run redrive` (run as a user runs it) delivers them again once the fault is gone, each
 * processed once, removing a record only after the consumer processed it and keeping it when its
 * payload object has expired (for a multipart payload: its data object); `--discard` removes, on
 * confirmation, only records that can never be replayed; two replays at once count each payload
 * once between them.
 *
 * Two clouds share one S3 directory, like a deployment before and after a fix: the first runs the
 * real consumer with a business function that always fails (the only injected fault), the
 * second the real consumer.
 */
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { bundleToTempDir } from "../bundling/temp-bundles.ts";
import type { SenderResponse } from "../cli/sender-client.ts";
import { cleanEnv, runScript, transcript, type RunOptions, type RunResult } from "../cli/test-support.ts";
import { DEFAULT_CONSUMER_NAME, DEFAULT_SENDER_NAME, EVENT_PAYLOAD_LIMIT_BYTES, S3_MIN_PART_BYTES } from "../lib/contract.ts";
import { failureRecordPrefix, type FailureRecord } from "../lib/failure-records.ts";
import { decodeInlineEvent } from "../lib/payload-codec.ts";
import { sendPayload, type SendResult } from "../lib/producer.ts";
import { parseJsonLine } from "../local/deliveries.ts";
import { bundleFailingConsumer } from "../local/fixtures/failing-consumer.ts";
import { jsonPayloadWithInlineSize, sha256 } from "../local/payloads.ts";
import { startPipeline, type Pipeline } from "./harness.ts";

const RECORDS = failureRecordPrefix(DEFAULT_CONSUMER_NAME);
const KEY_LAYOUT = new RegExp(`^${RECORDS}\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`);

let bundles: Record<FunctionRole, Bundle>;
let failing: Bundle;
let root: string;
let cleanup: () => void;

before(async () => {
  ({ bundles, root, cleanup } = await bundleToTempDir());
  failing = await bundleFailingConsumer(path.join(root, "failing-consumer"));
});
after(() => cleanup());

async function recordKeys(s3: S3Client, bucket: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: RECORDS }))).Contents ?? []).map((o) => o.Key!).sort();
}

async function readRecord(s3: S3Client, bucket: string, key: string): Promise<{ record: FailureRecord; bytes: number }> {
  const text = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString("utf8");
  return { record: JSON.parse(text) as FailureRecord, bytes: Buffer.byteLength(text) };
}

/**
 * The checks' own client, with the SDK's retries: the harness's client makes one attempt, and a
 * kept-alive connection that sat idle while a CLI ran can be reset by the server as it is reused.
 */
function checkingClient(p: Pipeline): S3Client {
  return new S3Client({ region: p.cloud.region, endpoint: p.cloud.s3Endpoint, forcePathStyle: true, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
}

/** `npm run redrive` as a user runs it, against this pipeline's local cloud. */
/** Only the Lambda endpoint, as the banner's hint gives it: redrive asks the local cloud for its S3 endpoint. */
function redriveCli(p: Pipeline, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runScript("cli/redrive.ts", ["--endpoint-url", p.cloud.lambdaEndpoint, ...args], { env: cleanEnv(), ...options });
}

function received(p: Pipeline, id: string): number {
  return p.cloud.logs.filter((l) => {
    const json = parseJsonLine(l.line);
    return l.functionName === DEFAULT_CONSUMER_NAME && json?.message === "payload received" && json.id === id;
  }).length;
}

describe("failure records in S3, and redrive", () => {
  const s3Directory = () => path.join(root, "s3");
  /** A: inline, exactly the limit. B: S3 route, its object expires before redrive. C: S3 route. */
  const sent: Record<"A" | "B" | "C", SenderResponse & { bytes: Buffer }> = {} as never;
  /** M: a multipart payload (the producer library), whose data object expires before redrive. */
  let M: SendResult & { route: "s3" };

  test("events whose processing always fails end in the S3 failure destination, bytes intact", async () => {
    const p = await startPipeline({
      bundles: { sender: bundles.sender, consumer: failing },
      s3Directory: s3Directory(),
      asyncInvokeConfig: { maxRetryAttempts: 2, retryDelaysMs: [10, 20] },
      // B and C must take the S3 route: compressed, their repetitive bodies would fit inline.
      settings: { compressInline: false },
    });
    const s3 = checkingClient(p);
    try {
      const payloads = {
        A: jsonPayloadWithInlineSize(EVENT_PAYLOAD_LIMIT_BYTES, 'é😀"\\\u2028'),
        B: jsonPayloadWithInlineSize(EVENT_PAYLOAD_LIMIT_BYTES + 1, "b"),
        C: jsonPayloadWithInlineSize(EVENT_PAYLOAD_LIMIT_BYTES + 2, "c"),
      };
      for (const [name, built] of Object.entries(payloads) as ["A" | "B" | "C", (typeof payloads)["A"]][]) {
        const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify(built.event));
        assert.equal(functionError, undefined, JSON.stringify(body));
        sent[name] = { ...(body as SenderResponse), bytes: built.bytes };
      }
      assert.deepEqual([sent.A.route, sent.A.inlineSize], ["inline", EVENT_PAYLOAD_LIMIT_BYTES], "A's inline event is exactly the limit");
      assert.deepEqual([sent.B.route, sent.C.route], ["s3", "s3"]);
      const multipart = await sendPayload(
        { consumerFunction: DEFAULT_CONSUMER_NAME, bucket: p.cloud.settings.bucket, lambdaClient: p.lambda, s3Client: s3 },
        randomBytes(S3_MIN_PART_BYTES + 1),
        { partSize: S3_MIN_PART_BYTES },
      );
      assert.ok(multipart.route === "s3" && multipart.upload === "multipart");
      M = multipart;
      await p.cloud.idle();

      const keys = await recordKeys(s3, p.cloud.failureBucket);
      assert.equal(keys.length, 4, `one record per failed event (the multipart payload's is its commit's): ${keys.join(", ")}`);
      const records = await Promise.all(keys.map((k) => readRecord(s3, p.cloud.failureBucket, k)));
      for (const [i, key] of keys.entries()) {
        assert.match(key, KEY_LAYOUT, "Lambda's key layout");
        const { record } = records[i]!;
        assert.equal(record.requestContext.condition, "RetriesExhausted");
        assert.equal(record.requestContext.approximateInvokeCount, 3);
        assert.match(JSON.stringify(record.responsePayload), /InjectedFault.*processPayload is down/);
      }

      const inline = records.find((r) => JSON.stringify(r.record.requestPayload).startsWith('{"lambdaS3AsyncPayload"'));
      assert.ok(inline, "the inline event's record");
      assert.ok(inline.bytes > EVENT_PAYLOAD_LIMIT_BYTES, `the whole event is in the record (${inline.bytes} bytes), not cut to a queue's limit`);
      const { meta, bytes } = decodeInlineEvent(inline.record.requestPayload);
      assert.equal(meta.id, sent.A.id);
      assert.equal(sha256(bytes), sent.A.sha256);
      assert.equal(sha256(bytes), sha256(payloads.A.bytes), "the record holds the payload's exact bytes");

      for (const name of ["B", "C"] as const) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: p.cloud.settings.bucket, Key: sent[name].key }));
        assert.equal(head.ContentLength, sent[name].size, `${name}'s payload object stays in the bucket`);
      }
      for (const name of ["A", "B", "C"] as const) assert.equal(received(p, sent[name].id), 0);
      assert.equal(received(p, M.id), 0);
    } finally {
      s3.destroy();
      await p.close();
    }
  });

  describe("npm run redrive, after the fault is fixed", () => {
    let p: Pipeline;
    let s3: S3Client;
    const redrive = (...args: string[]): Promise<RunResult> => redriveCli(p, args);

    before(async () => {
      p = await startPipeline({ bundles, s3Directory: s3Directory() });
      s3 = checkingClient(p);
      // B's payload object and M's data object expire, as the lifecycle rule would remove them.
      await s3.send(new DeleteObjectCommand({ Bucket: p.cloud.settings.bucket, Key: sent.B.key }));
      await s3.send(new DeleteObjectCommand({ Bucket: p.cloud.settings.bucket, Key: M.key }));
    });
    after(async () => {
      s3?.destroy();
      await p?.close();
    });

    test("lists every record with id, route, size, the real error and age; exit 0, nothing changes", async () => {
      const r = await redrive();
      assert.equal(r.code, 0, transcript(r));
      const rows = [
        ...(["A", "B", "C"] as const).map((name) => ({ id: sent[name].id, route: sent[name].route, size: sent[name].size })),
        { id: M.id, route: "s3", size: M.size },
      ];
      for (const row of rows) {
        const line = r.stdout.split("\n").find((l) => l.includes(row.id));
        assert.ok(line, `${row.id} is listed:\n${r.stdout}`);
        // The business function's own error, on both routes: not a wrapper's name.
        const error = `InjectedFault: processPayload is down (payload ${row.id} not processed)`;
        assert.match(line, new RegExp(`^\\s+\\d+s\\s+${row.id}\\s+${row.route}\\s+${row.size.toLocaleString("en-US")} B\\s+${escape(error)}`));
      }
      assert.match(r.stdout, new RegExp(`${M.id}[^\\n]*\\n\\s+payload object gone: s3://${p.cloud.settings.bucket}/${escape(M.key)}\\n`), "the multipart payload's data object");
      assert.ok(r.stdout.includes(`4 records. Replay them with: npm run redrive -- --replay --endpoint-url ${p.cloud.lambdaEndpoint}\n`), `the hint keeps the endpoint in use:\n${r.stdout}`);
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, 4);
    });

    test("--id finds a multipart payload's record by its payload id", async () => {
      const r = await redrive("--id", M.id);
      assert.equal(r.code, 0, transcript(r));
      assert.match(r.stdout, new RegExp(`^\\s+\\d+s\\s+${M.id}\\s+s3\\s+${M.size.toLocaleString("en-US")} B`, "m"));
      assert.match(r.stdout, /^1 record\. /m);
    });

    test("--replay --dry-run says what would happen and changes nothing; exit 1 for the records it would keep", async () => {
      const r = await redrive("--replay", "--dry-run");
      assert.equal(r.code, 1, transcript(r));
      assert.equal(r.stdout.match(/would replay/g)?.length, 2, r.stdout);
      assert.match(r.stdout, new RegExp(`kept: the payload object is gone .*s3://${p.cloud.settings.bucket}/${escape(sent.B.key!)}`));
      assert.match(r.stdout, new RegExp(`kept: the payload object is gone .*s3://${p.cloud.settings.bucket}/${escape(M.key)}`));
      assert.match(r.stdout, /4 records: 2 would be replayed, 2 would be kept\./);
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, 4);
      await p.cloud.idle();
      for (const name of ["A", "B", "C"] as const) assert.equal(received(p, sent[name].id), 0);
    });

    test("--replay --id replays only that record: the limit-sized inline payload is processed once, its record removed", async () => {
      const r = await redrive("--replay", "--id", sent.A.id);
      assert.equal(r.code, 0, transcript(r));
      assert.match(r.stdout, /replayed: processed without error; record removed/);
      assert.match(r.stdout, /1 record: 1 replayed and removed, 0 kept\./);
      const delivered = await p.delivery(sent.A.id);
      assert.deepEqual([delivered.route, delivered.size, delivered.sha256], ["inline", sent.A.size, sha256(sent.A.bytes)]);
      await p.cloud.idle();
      assert.equal(received(p, sent.A.id), 1, "processed once");
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, 3);
    });

    test("--replay of a multipart payload whose data object is gone keeps its record and its commit; exit 1", async () => {
      const r = await redrive("--replay", "--id", M.id);
      assert.equal(r.code, 1, transcript(r));
      assert.match(r.stdout, new RegExp(`kept: the payload object is gone .* does not record the payload as processed: s3://${p.cloud.settings.bucket}/${escape(M.key)}`));
      assert.match(r.stdout, /1 record: 0 replayed and removed, 1 kept\./);
      await p.cloud.idle();
      assert.equal(received(p, M.id), 0);
      const commit = await s3.send(new HeadObjectCommand({ Bucket: p.cloud.settings.bucket, Key: M.commitKey! }));
      assert.equal(commit.Metadata?.["payload-id"], M.id, "the consumer did not delete the commit of a payload it never processed");
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, 3);
    });

    test("--replay replays the rest: the S3-route record is processed once; the expired ones say so and stay; exit 1", async () => {
      const r = await redrive("--replay");
      assert.equal(r.code, 1, transcript(r));
      assert.match(r.stdout, /3 records: 1 replayed and removed, 2 kept\./);
      assert.match(r.stdout, new RegExp(`${sent.B.id}[^\\n]*\\n\\s+kept: the payload object is gone \\(expired by the lifecycle rule, or deleted\\)`));
      await p.delivery(sent.C.id);
      await p.cloud.idle();
      assert.deepEqual([received(p, sent.A.id), received(p, sent.B.id), received(p, sent.C.id), received(p, M.id)], [1, 0, 1, 0]);
      const left = await recordKeys(s3, p.cloud.failureBucket);
      assert.equal(left.length, 2);
      const events = await Promise.all(left.map(async (k) => JSON.stringify((await readRecord(s3, p.cloud.failureBucket, k)).record.requestPayload)));
      assert.ok(events.some((e) => e.includes(sent.B.id)) && events.some((e) => e.includes(M.id)), "B's and M's records stay");
      const gone = await s3.send(new ListObjectsV2Command({ Bucket: p.cloud.settings.bucket, Prefix: sent.C.key }));
      assert.equal(gone.KeyCount, 0, "the consumer deleted C's object after processing it");
    });

    test("--discard removes, once confirmed, only records that can never be replayed, and prints what it removes", async () => {
      const malformed = `${RECORDS}2026/01/02/2026-01-02T03.04.05-${randomUUID()}`;
      await s3.send(new PutObjectCommand({ Bucket: p.cloud.failureBucket, Key: malformed, Body: "{ not json" }));

      const unselected = await redrive("--discard");
      assert.equal(unselected.code, 2, transcript(unselected));
      assert.match(unselected.stderr, /--discard removes records for good: select them with --id, --older-than or --newer-than/);

      const declined = await redriveCli(p, ["--discard", "--id", malformed.slice(malformed.lastIndexOf("/") + 1)], { input: Buffer.from("no\n") });
      assert.equal(declined.code, 1, transcript(declined));
      assert.match(declined.stdout, new RegExp(`1 record can never be replayed:\\n\\s+${escape(malformed)}\\n\\s+unreadable record: `), "found by its record key");
      assert.match(declined.stdout, /Type "yes" to confirm/);
      assert.match(declined.stdout, /1 record: 0 discarded, 1 kept\./);
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, 3, "nothing removed without a yes");

      const r = await redrive("--discard", "--older-than", "0s", "--yes");
      assert.equal(r.code, 0, transcript(r));
      assert.match(r.stdout, /3 records can never be replayed:/);
      assert.ok(r.stdout.includes(`removed ${malformed}`), r.stdout);
      assert.equal(r.stdout.match(/^ {2}removed /gm)?.length, 3, r.stdout);
      assert.match(r.stdout, new RegExp(`the payload object is gone: s3://${p.cloud.settings.bucket}/${escape(M.key)}`));
      assert.match(r.stdout, /3 records: 3 discarded, 0 kept\./);
      assert.deepEqual(await recordKeys(s3, p.cloud.failureBucket), []);
    });

    test("bad usage exits 2 and names the problem", async () => {
      const r = await redrive("--older-than", "soon");
      assert.equal(r.code, 2, transcript(r));
      assert.match(r.stderr, /--older-than must be an age such as 90s, 15m, 2h or 3d, got "soon"/);
    });
  });
});


describe("two npm run redrive --replay at once", () => {
  const N = 30;
  const s3Directory = () => path.join(root, "s3-concurrent");
  const ids: string[] = [];

  before(async () => {
    const p = await startPipeline({
      bundles: { sender: bundles.sender, consumer: failing },
      s3Directory: s3Directory(),
      asyncInvokeConfig: { maxRetryAttempts: 0 },
    });
    try {
      for (let i = 0; i < N; i++) {
        const { body, functionError } = await p.invoke(DEFAULT_SENDER_NAME, JSON.stringify({ order: i }));
        assert.equal(functionError, undefined, JSON.stringify(body));
        ids.push((body as SenderResponse).id);
      }
      await p.cloud.idle();
    } finally {
      await p.close();
    }
  });

  test("report the true total between them: each payload is processed once and counted once as replayed", async () => {
    const p = await startPipeline({ bundles, s3Directory: s3Directory() });
    const s3 = checkingClient(p);
    try {
      assert.equal((await recordKeys(s3, p.cloud.failureBucket)).length, N);
      const redrive = () => redriveCli(p, ["--replay"]);
      const runs = await Promise.all([redrive(), redrive()]);
      const counts = runs.map((r) => {
        assert.equal(r.code, 0, transcript(r));
        const m = /(\d+) records?: (\d+) replayed and removed, (?:(\d+) already processed and removed, )?(?:(\d+) removed by another redrive, )?0 kept\./.exec(r.stdout);
        assert.ok(m, r.stdout);
        return { replayed: Number(m[2]), repeats: Number(m[3] ?? 0), elsewhere: Number(m[4] ?? 0) };
      });
      assert.equal(counts[0]!.replayed + counts[1]!.replayed, N, `replayed ${JSON.stringify(counts)}`);
      await p.cloud.idle();
      assert.deepEqual(ids.map((id) => received(p, id)), Array(N).fill(1), "each payload processed exactly once");
      assert.deepEqual(await recordKeys(s3, p.cloud.failureBucket), []);
      console.log(`two concurrent replays of ${N} records: ${JSON.stringify(counts)}`);
    } finally {
      s3.destroy();
      await p.close();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
