/**
 * The module's zips: the same files give the same bytes whatever their times, and an independent
 * zip reader (unzip) extracts them with matching CRCs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { findExecutable } from "../local/executables.ts";
import { bundleZip, filesOf, stableZip } from "./stable-zip.ts";

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

const unzip = findExecutable("unzip");
for (const deflate of [false, true]) {
  test(`unzip tests and extracts it (${deflate ? "deflated" : "stored"}): names, contents, CRCs`, { skip: unzip ? false : "needs unzip (Info-ZIP) on PATH" }, async () => {
    const name = deflate ? "deflated" : "stored";
    const zip = path.join(tmp, `${name}.zip`);
    writeFileSync(zip, stableZip(filesOf(bundleDir(name, new Date())), { deflate }));
    const run = promisify(execFile);
    const listing = (await run(unzip!, ["-v", zip])).stdout;
    assert.match(listing, deflate ? /Defl:/ : /Stored/, "each entry's method");
    assert.match((await run(unzip!, ["-t", zip])).stdout, /No errors detected/);
    const out = path.join(tmp, `${name}-extracted`);
    await run(unzip!, ["-q", zip, "-d", out]);
    for (const entry of filesOf(path.join(tmp, name))) assert.ok(readFileSync(path.join(out, entry.name)).equals(entry.data), entry.name);
  });
}

test("bundleZip writes a bundle's deflated zip once, named archive.zip, at a path set by the bundle's content", () => {
  const dir = bundleDir("for-bundle-zip", new Date());
  const contentHash = Buffer.from(`test ${process.pid} ${Date.now()}`).toString("base64");
  const file = bundleZip({ dir, contentHash });
  after(() => rmSync(path.dirname(file), { recursive: true, force: true }));
  assert.equal(path.basename(file), "archive.zip");
  assert.ok(readFileSync(file).equals(stableZip(filesOf(dir), { deflate: true })));
  const written = statSync(file).mtimeMs;
  assert.equal(bundleZip({ dir, contentHash }), file);
  assert.equal(statSync(file).mtimeMs, written, "not written again");
  assert.notEqual(bundleZip({ dir, contentHash: Buffer.from("other").toString("base64") }), file);
});
