/**
 * esbuild results kept on disk between processes, reused while every input file esbuild read
 * still has the same content. Each synthesis, `npm run local` start and test file used to bundle
 * the same two functions again, about 2 s of CPU each time; a hit costs reading and hashing the
 * inputs (tens of milliseconds).
 *
 * One entry per build configuration (every esbuild option, the working directory included,
 * esbuild's version, the dependency install), holding only its latest result, so the cache stays
 * as large as the set of configurations. Another directory is another configuration, even with
 * the same code: that bundles do not depend on where the project is must stay something each
 * directory's own build shows. A hit is decided by content hashes, never by file times, so a
 * checkout or `touch` cannot serve stale code, and a changed input is always rebuilt. Entries are
 * grouped by working directory, and a group whose directory is gone (a temporary project) is
 * removed at the next save, so the cache does not grow with every temporary directory.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { version as esbuildVersion, type BuildOptions, type Metafile } from "esbuild";
import { replaceFile } from "./replace-file.ts";

/** Where the entries live; one JSON file per configuration. */
export const BUILD_CACHE_DIR = path.join(os.tmpdir(), "lambda-s3-async-lambda-build-cache");

/** What bundling needs of a build: the files it wrote (in memory) and its metafile. */
export interface CachedBuild {
  readonly outputFiles: readonly { readonly path: string; readonly contents: Uint8Array }[];
  readonly metafile: Metafile;
}

interface Entry {
  /** Input path, relative to the working directory → SHA-256 (base64) of its content when the build ran. */
  readonly inputs: Record<string, string>;
  /** Paths relative to the working directory; contents in base64. */
  readonly outputFiles: readonly { readonly path: string; readonly contents: string }[];
  readonly metafile: Metafile;
}

/**
 * The configuration's key. npm rewrites `node_modules/.package-lock.json` on every install, so a
 * dependency added where resolution would now find it (which no existing input shows) is a miss.
 */
export function buildCacheKey(options: BuildOptions): string {
  return createHash("sha256")
    .update(JSON.stringify([esbuildVersion, options, installStamp(options.absWorkingDir ?? process.cwd())]))
    .digest("hex");
}

export function readBuild(key: string, workingDir: string): CachedBuild | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(entryPath(key, workingDir), "utf8")) as Entry;
  } catch {
    return undefined;
  }
  for (const [file, hash] of Object.entries(entry.inputs)) if (contentHash(path.resolve(workingDir, file)) !== hash) return undefined;
  return { metafile: entry.metafile, outputFiles: entry.outputFiles.map((f) => ({ path: path.resolve(workingDir, f.path), contents: Buffer.from(f.contents, "base64") })) };
}

/** Saves a build under its key; a cache that cannot be written only costs the next build. */
export function saveBuild(key: string, build: CachedBuild, workingDir: string): void {
  const inputs: Record<string, string> = {};
  for (const file of Object.keys(build.metafile.inputs)) {
    const hash = contentHash(path.resolve(workingDir, file));
    // Not a file (esbuild's virtual modules): nothing on disk can change it.
    if (hash !== undefined) inputs[file] = hash;
  }
  const outputFiles = build.outputFiles.map((f) => ({ path: path.relative(workingDir, f.path), contents: Buffer.from(f.contents).toString("base64") }));
  const entry: Entry = { inputs, metafile: build.metafile, outputFiles };
  const target = entryPath(key, workingDir);
  try {
    removeGroupsOfGoneDirectories();
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(path.join(path.dirname(target), GROUP_DIR_FILE), workingDir);
    replaceFile(target, JSON.stringify(entry));
  } catch {
    // A cache that cannot be written only costs the next build.
  }
}

/** In each working directory's group: the directory's path. */
const GROUP_DIR_FILE = "working-dir";

function entryPath(key: string, workingDir: string): string {
  const group = createHash("sha256").update(workingDir).digest("hex").slice(0, 32);
  return path.join(BUILD_CACHE_DIR, group, `${key}.json`);
}

function removeGroupsOfGoneDirectories(): void {
  let groups: string[];
  try {
    groups = readdirSync(BUILD_CACHE_DIR);
  } catch {
    return;
  }
  for (const group of groups) {
    const dir = path.join(BUILD_CACHE_DIR, group);
    let workingDir: string;
    try {
      workingDir = readFileSync(path.join(dir, GROUP_DIR_FILE), "utf8");
    } catch {
      continue; // being written by another process, or not ours
    }
    if (!existsSync(workingDir)) rmSync(dir, { recursive: true, force: true });
  }
}

function contentHash(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("base64");
  } catch {
    return undefined;
  }
}

/** Size and time of the nearest npm install record above `dir`, or "none". */
function installStamp(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const s = statSync(path.join(d, "node_modules", ".package-lock.json"));
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      // keep looking
    }
    if (path.dirname(d) === d) return "none";
  }
}
