import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { buffer } from "node:stream/consumers";
import { InvalidPayloadError } from "./payload-codec.ts";
import { removeStaleSpools, removeStaleSpoolsSync, spoolDirectory, spoolVerified } from "./payload-stream.ts";

let base: string;
before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), "payload-stream-"));
});
after(() => rmSync(base, { recursive: true, force: true }));

async function* chunks(...parts: Buffer[]): AsyncIterable<Uint8Array> {
  yield* parts;
}

const record = (bytes: Buffer) => ({ size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });

/** A process id that no process has: one that has just exited. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
  return Number(pid);
}

test("before spooling, files no running spool owns are removed; a live process's files and other files stay", async () => {
  const dir = spoolDirectory(path.join(base, "stale"));
  mkdirSync(dir, { recursive: true });
  const mine = `payload-${process.pid}-00000000-0000-4000-8000-000000000001`; // this pid, not running: a killed runtime's
  const dead = `payload-${deadPid()}-00000000-0000-4000-8000-000000000002`;
  const live = `payload-${process.ppid}-00000000-0000-4000-8000-000000000003`; // another process that still runs
  for (const name of [mine, dead, live, "not-a-spool-file"]) writeFileSync(path.join(dir, name), "x".repeat(1000));

  const bytes = Buffer.from("the payload");
  const spool = await spoolVerified(chunks(bytes), record(bytes), "s3://b/k", dir);
  const left = readdirSync(dir);
  assert.ok(!left.includes(mine) && !left.includes(dead), `stale files removed: ${left.join(", ")}`);
  assert.ok(left.includes(live) && left.includes("not-a-spool-file"));
  assert.equal(left.filter((n) => n.startsWith(`payload-${process.pid}-`)).length, 1, "the new spool file");
  assert.deepEqual(await buffer(spool.open()), bytes);
  await spool.remove();
  assert.deepEqual(readdirSync(dir).sort(), [live, "not-a-spool-file"].sort());
});

test("two spools at once in one process keep each other's files; init removes only what no spool owns", async () => {
  const dir = spoolDirectory(path.join(base, "concurrent"));
  let release!: () => void;
  const first = Buffer.from("first payload");
  const slow = (async function* () {
    yield first.subarray(0, 5);
    await new Promise<void>((resolve) => (release = resolve));
    yield first.subarray(5);
  })();
  const spooling = spoolVerified(slow, record(first), "s3://b/first", dir);
  while (release === undefined) await new Promise((r) => setTimeout(r, 1));
  const second = Buffer.from("second payload");
  const other = await spoolVerified(chunks(second), record(second), "s3://b/second", dir);
  assert.deepEqual(removeStaleSpoolsSync(dir), [], "nothing is stale while both run");
  assert.deepEqual(await removeStaleSpools(dir), []);
  release();
  const one = await spooling;
  assert.deepEqual(await buffer(one.open()), first, "the first spool's file survived the second spool's clean-up");
  assert.deepEqual(await buffer(other.open()), second);
  await Promise.all([one.remove(), other.remove()]);
  assert.deepEqual(readdirSync(dir), []);
});

/** 64 KiB chunks: each is over a file stream's 16 KiB buffer, so every write waits for a drain. */
function drainingChunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(65_536, i));
}

test("a spooled body of many chunks streams back byte-identical, with no MaxListenersExceededWarning", async () => {
  const dir = spoolDirectory(path.join(base, "drains"));
  const parts = drainingChunks(40);
  const all = Buffer.concat(parts);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const spooled = await spoolVerified(chunks(...parts), record(all), "test object", dir);
    assert.ok((await buffer(spooled.open())).equals(all), "the spooled bytes are the body's");
    await spooled.remove();
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), [], "40 drains leave no listeners behind");
});

test("a body that does not match the record is refused and its file removed", async () => {
  const dir = spoolDirectory(path.join(base, "mismatch"));
  await assert.rejects(spoolVerified(chunks(...drainingChunks(3)), { size: 3 * 65_536, sha256: "0".repeat(64) }, "test object", dir), InvalidPayloadError);
  assert.deepEqual(readdirSync(dir), [], "no spool file is left");
});
