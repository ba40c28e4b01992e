/**
 * Test support: a copy of the project as a fresh clone plus `npm ci` would hold it, where main.ts
 * can run (and handlers can be edited) without touching the working tree's cdktf.out or sources.
 */
import { execFile } from "node:child_process";
import { cpSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../bundling/bundle.ts";

const EXCLUDED = new Set(["node_modules", ".git", "cdktf.out", "dist", ".bundles", ".local"]);

/** Hard links keep node_modules real (esbuild resolves symlinks) without copying 500 MB. */
export function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else linkSync(src, dst);
  }
}

/** Copies the project into `dir`: sources copied, node_modules hard-linked, build outputs left out. */
export function copyProject(dir: string): string {
  cpSync(PROJECT_ROOT, dir, {
    recursive: true,
    filter: (src) => {
      const top = path.relative(PROJECT_ROOT, src).split(path.sep)[0]!;
      return !EXCLUDED.has(top) && !top.startsWith(".synth-copies-");
    },
  });
  linkTree(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/**
 * A temporary directory that can hold project copies: under the OS temp directory, or in the
 * project when hard links cannot cross to it (EXDEV). The caller removes it.
 */
export function projectCopyBase(prefix: string): { base: string; copy: (name: string) => string } {
  let base = mkdtempSync(path.join(os.tmpdir(), prefix));
  const copy = (name: string) => copyProject(path.join(base, name));
  return {
    get base() {
      return base;
    },
    copy: (name) => {
      try {
        return copy(name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        rmSync(base, { recursive: true, force: true });
        base = mkdtempSync(path.join(PROJECT_ROOT, `.synth-copies-${prefix}`));
        return copy(name);
      }
    },
  };
}

/** `npm run synth` (`node main.ts`) in a copy, with no stack settings leaking in from outside. */
export function synthIn(dir: string, extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("STACK_") && !k.startsWith("CDKTF_") && !k.startsWith("NODE_TEST")),
  );
  return promisify(execFile)(process.execPath, ["main.ts"], { cwd: dir, env: { ...env, ...extraEnv }, timeout: 120_000 });
}

/** cdktf.out/stacks/<stack> of a copy. */
export function stackDirOf(dir: string, stack = "lambda-s3-async-lambda"): string {
  return path.join(dir, "cdktf.out", "stacks", stack);
}
