/** Spooling a payload to ephemeral storage: verified bytes back, and no listener left per drain. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { InvalidPayloadError } from "./payload-codec.ts";
import { spoolVerified } from "./payload-stream.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "payload-stream-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** 64 KiB chunks: each is over a file stream's 16 KiB buffer, so every write waits for a drain. */
function chunks(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(65_536, i));
}

/** A body as the S3 SDK gives one: an async iterable of chunks. */
async function* body(parts: readonly Buffer[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

test("a spooled body of many chunks streams back byte-identical, with no MaxListenersExceededWarning", async () => {
  const parts = chunks(40);
  const all = Buffer.concat(parts);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const spooled = await spoolVerified(body(parts), { size: all.length, sha256: createHash("sha256").update(all).digest("hex") }, "test object", dir);
    const back: Buffer[] = [];
    for await (const c of spooled.open()) back.push(c as Buffer);
    assert.ok(Buffer.concat(back).equals(all), "the spooled bytes are the body's");
    await spooled.remove();
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), [], "40 drains leave no listeners behind");
});

test("a body that does not match the record is refused and its file removed", async () => {
  const parts = chunks(3);
  await assert.rejects(spoolVerified(body(parts), { size: 3 * 65_536, sha256: "0".repeat(64) }, "test object", dir), InvalidPayloadError);
  assert.deepEqual(readdirSync(dir), [], "no spool file is left");
});
