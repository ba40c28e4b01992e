/**
 * The idempotency module against a real DynamoDB protocol server (dynalite on loopback), with
 * the table the stack declares: repeats, concurrent deliveries, conflicts, failures, crashes,
 * the window, and fast-check interleavings of all of them.
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { GetItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import fc from "fast-check";
import { startLocalDynamoDb, type LocalDynamoDb } from "../local/dynamodb.ts";
import { DEFAULTS, IDEMPOTENCY_RECORD } from "./contract.ts";
import { IdempotencyStoreError, idempotentProcessor, KEY_PREFIX, PayloadIdConflictError, PayloadInProgressError, type IdempotentProcessor, type PayloadIdentity } from "./idempotency.ts";

const TABLE = "idempotency-test";
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

let db: LocalDynamoDb;
let client: DynamoDBClient;

before(async () => {
  db = await startLocalDynamoDb({ tables: [TABLE] });
  client = db.client();
});
after(async () => {
  client?.destroy();
  await db?.close();
});

function processor(expiresAfterSeconds: number = DEFAULTS.idempotencyExpiresAfterSeconds): IdempotentProcessor {
  return idempotentProcessor({
    tableName: TABLE,
    expiresAfterSeconds,
    sdkTimeouts: { connectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs, requestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs },
    clientConfig: { endpoint: db.endpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" } },
  });
}

function payload(sha = "a"): PayloadIdentity {
  return { id: randomUUID(), sha256: sha.repeat(64) };
}

/** The stored record of an id, read back with the plain SDK. */
async function record(id: string): Promise<Record<string, string> | undefined> {
  const key = `${KEY_PREFIX}#${createHash("md5").update(JSON.stringify(id)).digest("base64")}`;
  const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { [IDEMPOTENCY_RECORD.key]: { S: key } }, ConsistentRead: true }));
  if (!Item) return undefined;
  return Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, v.S ?? v.N ?? ""]));
}

const never = () => new Promise<void>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until `probe` returns a value. The bound only turns a broken lock into a failure instead
 * of a hang; it is far above what a saturated machine needs.
 */
async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const boundMs = 60_000;
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${boundMs / 1000} s`);
    await sleep(5);
  }
}

describe("one payload id", () => {
  test("runs once; a repeat after success is absorbed without running", async () => {
    const p = processor();
    const one = payload();
    let runs = 0;
    assert.equal(await p.run(one, 30_000, async () => void runs++), "processed");
    assert.equal(await p.run(one, 30_000, async () => void runs++), "repeated");
    assert.equal(await processor().run(one, 30_000, async () => void runs++), "repeated", "another consumer instance sees it too");
    assert.equal(runs, 1);
    const stored = await record(one.id);
    assert.equal(stored?.[IDEMPOTENCY_RECORD.status], "COMPLETED");
  });

  test("two deliveries at once: one processes, the other fails as in progress, and a retry is absorbed", async () => {
    const p = processor();
    const one = payload();
    let runs = 0;
    let release!: () => void;
    const first = p.run(one, 30_000, async () => {
      runs++;
      await new Promise<void>((r) => (release = r));
    });
    await eventually("the first delivery to start processing", () => release);
    await assert.rejects(processor().run(one, 30_000, async () => void runs++), (err: Error) => {
      assert.equal(err.name, PayloadInProgressError.name);
      assert.match(err.message, new RegExp(`Payload ${one.id} is being processed by another delivery right now`));
      return true;
    });
    release();
    assert.equal(await first, "processed");
    assert.equal(await p.run(one, 30_000, async () => void runs++), "repeated");
    assert.equal(runs, 1);
  });

  test("the same id with a different sha256 is a conflict, whether the first is done or in progress", async () => {
    const p = processor();
    const done = payload("a");
    await p.run(done, 30_000, async () => {});
    const other = { id: done.id, sha256: "b".repeat(64) };
    await assert.rejects(p.run(other, 30_000, async () => assert.fail("ran")), (err: Error) => {
      assert.equal(err.name, PayloadIdConflictError.name);
      assert.equal(err.message, `Payload ${done.id} was seen before with a different sha256 (this delivery has ${"b".repeat(64)}); refusing to treat a different payload as a repeat`);
      return true;
    });
    const running = payload("a");
    let release!: () => void;
    const first = p.run(running, 30_000, () => new Promise<void>((r) => (release = r)));
    await eventually("the first delivery to start processing", () => release);
    await assert.rejects(p.run({ id: running.id, sha256: "c".repeat(64) }, 30_000, async () => assert.fail("ran")), PayloadIdConflictError);
    release();
    await first;
  });

  test("a failure releases the id, so the retry processes it", async () => {
    const p = processor();
    const one = payload();
    await assert.rejects(p.run(one, 30_000, async () => { throw new Error("business failure"); }), /business failure/);
    assert.equal(await record(one.id), undefined, "no record left behind");
    let runs = 0;
    assert.equal(await p.run(one, 30_000, async () => void runs++), "processed");
    assert.equal(runs, 1);
  });

  test("a crash leaves a lock that expires with the invocation's remaining time, not the window", async () => {
    // The crashed invocation's remaining time: far below the window (a day), and long enough that
    // the second delivery below starts while the lock holds, even on a saturated machine.
    const remainingMs = 5_000;
    const one = payload();
    const before = Date.now();
    void processor().run(one, remainingMs, never); // the environment dies mid-processing
    const stored = await eventually("the in-progress record", () => record(one.id));
    const lockedUntil = Number(stored[IDEMPOTENCY_RECORD.inProgressExpiry]);
    assert.ok(lockedUntil >= before + remainingMs && lockedUntil <= Date.now() + remainingMs, `lock until ${lockedUntil}, ${lockedUntil - before} ms after the start`);
    const secondAt = Date.now();
    await assert.rejects(
      processor().run(one, 30_000, async () => assert.fail(`ran while locked (this delivery started ${lockedUntil - secondAt} ms before the lock's end)`)),
      PayloadInProgressError,
    );
    await sleep(Math.max(0, lockedUntil - Date.now() + 50));
    let runs = 0;
    assert.equal(await processor().run(one, 30_000, async () => void runs++), "processed");
    assert.equal(runs, 1);
  });

  test("the record expires after the configured window, counted in seconds from now", async () => {
    const one = payload();
    await processor().run(one, 30_000, async () => {});
    const expiry = Number((await record(one.id))?.[IDEMPOTENCY_RECORD.expiry]);
    const expected = Date.now() / 1000 + DEFAULTS.idempotencyExpiresAfterSeconds;
    assert.ok(Math.abs(expiry - expected) < 5, `expiration ${expiry}, expected about ${expected}`);

    const short = payload();
    let runs = 0;
    await processor(1).run(short, 30_000, async () => void runs++);
    await sleep(2_100);
    assert.equal(await processor(1).run(short, 30_000, async () => void runs++), "processed", "after the window an id is new again");
    assert.equal(runs, 2);
  });
});

describe("the store's word on an id (status), read without a lock", { timeout: 15_000 }, () => {
  test("ABSENT before, INPROGRESS while processing, COMPLETED after; a failed run leaves it ABSENT", async () => {
    const p = processor();
    const one = payload();
    assert.equal(await p.status(one.id), "ABSENT");
    let release!: () => void;
    const running = p.run(one, 30_000, () => new Promise<void>((r) => (release = r)));
    await eventually("the first delivery to start processing", () => release);
    assert.equal(await processor().status(one.id), "INPROGRESS");
    release();
    await running;
    assert.equal(await processor().status(one.id), "COMPLETED", "another consumer instance reads it too");
    assert.equal(await p.run(one, 30_000, async () => assert.fail("ran")), "repeated", "reading took no lock and changed nothing");

    const failed = payload();
    await assert.rejects(p.run(failed, 30_000, async () => { throw new Error("business failure"); }));
    assert.equal(await p.status(failed.id), "ABSENT");
  });

  test("a record past its window is EXPIRED, so it no longer vouches for the payload", async () => {
    const short = payload();
    await processor(1).run(short, 30_000, async () => {});
    assert.equal(await processor(1).status(short.id), "COMPLETED");
    await sleep(2_100);
    assert.equal(await processor(1).status(short.id), "EXPIRED");
  });

  test("a table that cannot be read is an IdempotencyStoreError naming the payload, never an answer", async () => {
    const down = idempotentProcessor({
      tableName: "no-such-table",
      expiresAfterSeconds: 60,
      sdkTimeouts: { connectionTimeoutMs: 500, requestTimeoutMs: 1_000 },
      clientConfig: { endpoint: db.endpoint, region: "us-east-1", credentials: { accessKeyId: "t", secretAccessKey: "t" }, maxAttempts: 1 },
    });
    await assert.rejects(down.status("p-1"), (err: Error) => {
      assert.equal(err.name, IdempotencyStoreError.name);
      assert.match(err.message, /^Could not read the idempotency record of payload p-1: ResourceNotFoundException/);
      return true;
    });
  });
});

/**
 * Lambda's view of a delivery: attempts until one ends without an error. A failed business
 * function, an id in progress elsewhere, and a crash (the attempt never returns; its lock expires
 * with its remaining time) are all retried, as Lambda retries async events.
 */
interface Delivery {
  readonly payloadIndex: number;
  readonly instance: 0 | 1;
  readonly startAfterMs: number;
  readonly workMs: number;
  /** What the first attempts do before one succeeds. */
  readonly failures: ReadonlyArray<"throw" | "crash">;
}

const deliveryArb = (payloads: number) =>
  fc.record({
    payloadIndex: fc.nat({ max: payloads - 1 }),
    instance: fc.constantFrom<0 | 1>(0, 1),
    startAfterMs: fc.nat({ max: 30 }),
    workMs: fc.nat({ max: 20 }),
    failures: fc.array(fc.constantFrom<"throw" | "crash">("throw", "throw", "crash"), { maxLength: 2 }),
  });

const scenario = fc.integer({ min: 1, max: 4 }).chain((payloads) =>
  fc.record({
    payloads: fc.constant(payloads),
    // Every payload is delivered at least once, then duplicates at random.
    deliveries: fc.array(deliveryArb(payloads), { maxLength: 8 }).map((extra) => [
      ...Array.from({ length: payloads }, (_, i): Delivery => ({ payloadIndex: i, instance: 0, startAfterMs: 0, workMs: 5, failures: [] })),
      ...extra,
    ]),
  }),
);

test("fast-check: interleaved duplicates, failures and crashes process each id exactly once and lose none", { timeout: 90_000 }, async () => {
  const instances = [processor(), processor()] as const;
  const CRASH_LOCK_MS = 150;
  await fc.assert(
    fc.asyncProperty(scenario, async ({ payloads, deliveries }) => {
      const ids = Array.from({ length: payloads }, () => payload());
      const completed = new Map<string, number>();
      const outcomes: string[][] = [];
      await Promise.all(
        deliveries.map(async (d, n) => {
          await sleep(d.startAfterMs);
          const seen: string[] = (outcomes[n] = []);
          const p = ids[d.payloadIndex]!;
          // Lambda keeps retrying for hours; many attempts, so a busy machine slowing the holder of
          // a lock down cannot make a delivery look lost.
          for (let attempt = 0; attempt < 1000; attempt++) {
            const failure = d.failures[attempt];
            try {
              const outcome = await Promise.race([
                instances[d.instance].run(p, failure === "crash" ? CRASH_LOCK_MS : 30_000, async () => {
                  await sleep(d.workMs);
                  if (failure === "throw") throw new Error("injected failure");
                  if (failure === "crash") return never();
                  completed.set(p.id, (completed.get(p.id) ?? 0) + 1);
                }),
                // A crashed attempt is abandoned like a killed environment; Lambda retries the event.
                ...(failure === "crash" ? [sleep(d.workMs + 20).then(() => "crashed")] : []),
              ]);
              seen.push(outcome);
              if (outcome === "processed" || outcome === "repeated") return;
            } catch (err) {
              seen.push((err as Error).name);
            }
            await sleep(failure === "crash" ? CRASH_LOCK_MS : 15);
          }
        }),
      );
      for (const [i, p] of ids.entries()) {
        assert.equal(completed.get(p.id), 1, `payload ${i} completed ${completed.get(p.id) ?? 0} times; attempts: ${JSON.stringify(outcomes)}`);
      }
      for (const [n, seen] of outcomes.entries()) {
        assert.ok(["processed", "repeated"].includes(seen.at(-1)!), `delivery ${n} never finished (lost): ${JSON.stringify(seen)}`);
      }
      const processedPerId = new Map<number, number>();
      for (const [n, seen] of outcomes.entries()) {
        if (seen.at(-1) === "processed") processedPerId.set(deliveries[n]!.payloadIndex, (processedPerId.get(deliveries[n]!.payloadIndex) ?? 0) + 1);
      }
      assert.deepEqual([...processedPerId.values()], Array(payloads).fill(1), "one delivery per id reports processed");
    }),
    { numRuns: 15, seed, includeErrorInReport: true },
  );
});
