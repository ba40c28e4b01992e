/**
 * The module's zips: the same files give the same bytes whatever their times, and an independent
 * zip reader (unzip) extracts them with matching CRCs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { findExecutable } from "../local/executables.ts";
import { crc32, filesOf, stableZip } from "./stable-zip.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "stable-zip-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function bundleDir(name: string, mtime: Date): string {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, "chunks"), { recursive: true });
  const files = { "index.mjs": "export const handler = async () => 1;\n", "index.mjs.map": "{}", "chunks/s3-ABC.mjs": "export {};\n" };
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), text);
    utimesSync(path.join(dir, file), mtime, mtime);
  }
  return dir;
}

test("the same files give the same bytes, whenever they were written", () => {
  const a = stableZip(filesOf(bundleDir("a", new Date("2020-01-01T00:00:00Z"))));
  const b = stableZip(filesOf(bundleDir("b", new Date("2026-12-05T12:34:56Z"))));
  assert.ok(a.equals(b));
  assert.deepEqual(filesOf(path.join(tmp, "a")).map((e) => e.name), ["chunks/s3-ABC.mjs", "index.mjs", "index.mjs.map"]);
});

test("crc32 is the IEEE CRC zip uses", () => {
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
});

const unzip = findExecutable("unzip");
test("unzip tests and extracts it: names, contents, CRCs", { skip: unzip ? false : "needs unzip (Info-ZIP) on PATH" }, async () => {
  const zip = path.join(tmp, "bundle.zip");
  writeFileSync(zip, stableZip(filesOf(bundleDir("c", new Date()))));
  const run = promisify(execFile);
  assert.match((await run(unzip!, ["-t", zip])).stdout, /No errors detected/);
  const out = path.join(tmp, "extracted");
  await run(unzip!, ["-q", zip, "-d", out]);
  for (const entry of filesOf(path.join(tmp, "c"))) assert.ok(readFileSync(path.join(out, entry.name)).equals(entry.data), entry.name);
});
