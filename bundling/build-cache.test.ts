/**
 * The build cache serves a build only while every input has the content it had, and bundling
 * through it gives what esbuild gives: a changed input is rebuilt even when its size and time
 * were kept.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { build, type BuildOptions } from "esbuild";
import { bundleFunction } from "./bundle.ts";
import { BUILD_CACHE_DIR, buildCacheKey, readBuild, saveBuild } from "./build-cache.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "build-cache-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny project whose handler imports a module that says `word`. */
function project(name: string, word: string): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  const files = { "package.json": '{"type":"module"}', "handler.ts": 'import { word } from "./word.ts";\nexport const handler = async () => word;\n', "word.ts": `export const word = "${word}";\n` };
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), text);
    utimesSync(path.join(dir, file), FIXED_TIME, FIXED_TIME);
  }
  return dir;
}

const FIXED_TIME = new Date("2026-01-01T00:00:00Z");

/** Rewrites a file with other content of the same length, at the same time as before. */
function sameSizeAndTime(file: string, from: string, to: string): void {
  const before = statSync(file);
  const text = readFileSync(file, "utf8");
  assert.equal(from.length, to.length);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, FIXED_TIME, FIXED_TIME);
  assert.deepEqual([statSync(file).size, statSync(file).mtimeMs], [before.size, before.mtimeMs]);
}

async function esbuild(dir: string) {
  const options: BuildOptions & { write: false; metafile: true } = { absWorkingDir: dir, entryPoints: ["handler.ts"], bundle: true, write: false, metafile: true, format: "esm", outdir: "out" };
  return { options, result: await build(options) };
}

test("a saved build is served while its inputs keep their content, and not after one changes", async (t) => {
  const dir = project("direct", "alpha");
  const { options, result } = await esbuild(dir);
  const key = buildCacheKey(options);
  saveBuild(key, result, dir);

  const hit = readBuild(key, dir);
  assert.ok(hit, "served");
  assert.deepEqual(hit.metafile, result.metafile);
  assert.deepEqual(
    hit.outputFiles.map((f) => [f.path, Buffer.from(f.contents).toString()]),
    result.outputFiles.map((f) => [f.path, f.text]),
  );

  await t.test("another working directory is another key", () => {
    assert.notEqual(buildCacheKey({ ...options, absWorkingDir: path.join(tmp, "elsewhere") }), key);
  });
  await t.test("another option is another key", () => {
    assert.notEqual(buildCacheKey({ ...options, minify: true }), key);
  });
  await t.test("an input with other content of the same size and time is a miss", () => {
    sameSizeAndTime(path.join(dir, "word.ts"), "alpha", "omega");
    assert.equal(readBuild(key, dir), undefined);
  });
  await t.test("a removed input is a miss", () => {
    saveBuild(key, result, dir);
    rmSync(path.join(dir, "word.ts"));
    assert.equal(readBuild(key, dir), undefined);
  });
});

test("bundling twice gives the same bundle, and a changed import is rebuilt though its size and time were kept", async () => {
  const dir = project("bundled", "alpha");
  const first = await bundleFunction({ entry: path.join(dir, "handler.ts"), outDir: path.join(tmp, "out-1") });
  const again = await bundleFunction({ entry: path.join(dir, "handler.ts"), outDir: path.join(tmp, "out-2") });
  assert.equal(again.contentHash, first.contentHash);
  assert.ok(readFileSync(again.file).equals(readFileSync(first.file)));

  sameSizeAndTime(path.join(dir, "word.ts"), "alpha", "omega");
  const changed = await bundleFunction({ entry: path.join(dir, "handler.ts"), outDir: path.join(tmp, "out-3") });
  assert.notEqual(changed.contentHash, first.contentHash);
  assert.match(readFileSync(changed.file, "utf8"), /omega/);
});

test("a temporary project's entries go once its directory is gone", async () => {
  const groups = () => new Set(readdirSync(BUILD_CACHE_DIR));
  const before = groups();
  const gone = project("gone", "alpha");
  const { options, result } = await esbuild(gone);
  saveBuild(buildCacheKey(options), result, gone);
  const added = [...groups()].filter((g) => !before.has(g));
  assert.equal(added.length, 1, "one group for the new directory");
  rmSync(gone, { recursive: true });

  const other = project("other", "alpha");
  const second = await esbuild(other);
  saveBuild(buildCacheKey(second.options), second.result, other);
  assert.equal(groups().has(added[0]!), false, "the gone directory's group is removed at the next save");
  assert.ok(readBuild(buildCacheKey(second.options), other), "the other project's entry is there");
});
