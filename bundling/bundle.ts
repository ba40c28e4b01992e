/**
 * The one place Lambda code is bundled. The cdktf construct deploys these bundles, and the local
 * runtime and tests execute the very same files, so what is tested is what is deployed.
 *
 * A bundle and its content hash depend only on the code: esbuild works in memory against a fixed
 * output path under `workingDir`, and the files are written where the caller wants them after.
 * So the same code gives the same `source_code_hash` in any checkout directory, into any output
 * directory, on any machine with the same dependencies.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, buildSync, type BuildOptions } from "esbuild";
import { buildCacheKey, readBuild, saveBuild, type CachedBuild } from "./build-cache.ts";

/** Where this package's modules are: the repository root from source, `dist/` once built. */
const MODULES_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Root of this package: the directory holding its package.json. */
export const PACKAGE_ROOT = findPackageRoot(MODULES_ROOT);
/** The same directory, by the name the repository's own tools and tests use. */
export const PROJECT_ROOT = PACKAGE_ROOT;

/** Extension of this package's own modules: `.ts` from source, `.js` once built. */
const OWN_EXTENSION = path.extname(fileURLToPath(import.meta.url));

/** This package's two functions, by role: the sender, and the reference consumer. */
export const FUNCTIONS = {
  sender: { entry: ownModule("handlers/sender") },
  consumer: { entry: ownModule("handlers/consumer") },
} as const;
export type FunctionRole = keyof typeof FUNCTIONS;

/** Lambda loads `index.mjs` as ESM and calls its `handler` export. */
export const BUNDLE_FILE = "index.mjs";
export const LAMBDA_HANDLER = "index.handler";
/** esbuild target of the default runtime. */
export const DEFAULT_TARGET = "node22";

export interface BundleFunctionOptions {
  /** The module to bundle; it must export `handler`. Absolute, or relative to `workingDir`. */
  readonly entry: string;
  /**
   * Directory the bundle is written to; its previous content is removed.
   * @default a directory named by the bundle's content hash under the OS temporary directory,
   * written once and shared by every synthesis of the same code
   */
  readonly outDir?: string;
  /**
   * esbuild target; match the Lambda runtime (`nodejs22.x` → `node22`).
   * @default "node22"
   */
  readonly target?: string;
  /**
   * Source map paths are relative to this directory, so it decides what "the same code" means
   * for the content hash: the same files at the same places below it.
   * @default the nearest directory above `entry` that holds a package.json
   */
  readonly workingDir?: string;
  /**
   * The export Lambda calls, checked at bundling time; `false` for a module that is not a
   * function (the benchmark's probe).
   * @default "handler"
   */
  readonly handlerExport?: string | false;
}

export interface Bundle {
  /** Absolute directory holding `index.mjs`, its chunks and their source maps: the zip's content. */
  readonly dir: string;
  /** Absolute path of `index.mjs`. */
  readonly file: string;
  /** Base64 SHA-256 over the bundle's files (names and contents), stable across machines (zips are not). */
  readonly contentHash: string;
}

/** The entry does not export a `handler` function name; Lambda could not call it. */
export class BundleEntryError extends Error {
  override readonly name = "BundleEntryError";
}

/** Bundles one function; synchronous, for construct constructors. */
export function bundleFunctionSync(options: BundleFunctionOptions): Bundle {
  const plan = planBundle(options);
  const key = buildCacheKey(plan.esbuild);
  return writeBundle(plan, readBuild(key, plan.workingDir) ?? remember(key, plan, buildSync(plan.esbuild)));
}

export async function bundleFunction(options: BundleFunctionOptions): Promise<Bundle> {
  const plan = planBundle(options);
  const key = buildCacheKey(plan.esbuild);
  return writeBundle(plan, readBuild(key, plan.workingDir) ?? remember(key, plan, await build(plan.esbuild)));
}

function remember(key: string, plan: BundlePlan, result: CachedBuild): CachedBuild {
  saveBuild(key, result, plan.workingDir);
  return result;
}

export interface BundleHandlersOptions {
  /**
   * Directory the bundles are written to, one subdirectory per function.
   * @default ".bundles" under the package root
   */
  readonly outDir?: string;
  /** @default "node22" */
  readonly target?: string;
  /**
   * Only bundle these functions.
   * @default both
   */
  readonly only?: readonly FunctionRole[];
}

/** This package's sender and reference consumer, each in its own directory. */
export async function bundleHandlers(options: BundleHandlersOptions = {}): Promise<Record<FunctionRole, Bundle>> {
  const outDir = path.resolve(PACKAGE_ROOT, options.outDir ?? ".bundles");
  const roles = options.only ?? (Object.keys(FUNCTIONS) as FunctionRole[]);
  const bundles = await Promise.all(
    roles.map(async (role) => [role, await bundleFunction({ entry: FUNCTIONS[role].entry, outDir: path.join(outDir, role), workingDir: PACKAGE_ROOT, ...(options.target !== undefined && { target: options.target }) })] as const),
  );
  return Object.fromEntries(bundles) as Record<FunctionRole, Bundle>;
}

interface BundlePlan {
  readonly entry: string;
  readonly workingDir: string;
  readonly outDir: string | undefined;
  /** Where esbuild believes it writes: a fixed place under the working directory. */
  readonly virtualOutDir: string;
  readonly handlerExport: string | false;
  readonly esbuild: BuildOptions & { write: false; metafile: true };
}

function planBundle(options: BundleFunctionOptions): BundlePlan {
  const workingDir = path.resolve(options.workingDir ?? findPackageRoot(path.dirname(path.resolve(options.entry))));
  const entry = path.resolve(workingDir, options.entry);
  if (!existsSync(entry)) throw new BundleEntryError(`Cannot bundle ${entry}: no such file`);
  const virtualOutDir = path.join(workingDir, ".lambda-bundle");
  return {
    entry,
    workingDir,
    outDir: options.outDir === undefined ? undefined : path.resolve(options.outDir),
    virtualOutDir,
    handlerExport: options.handlerExport ?? "handler",
    esbuild: {
      // A relative working directory keeps absolute paths out of the bundle and its source map.
      absWorkingDir: workingDir,
      entryPoints: { index: path.relative(workingDir, entry) },
      outdir: path.relative(workingDir, virtualOutDir),
      write: false,
      metafile: true,
      outExtension: { ".js": ".mjs" },
      // Dynamic imports become chunks that load only when reached: the S3 client stays off the
      // inline route's cold start (npm run bench measures it). Chunk names are content hashes.
      splitting: true,
      chunkNames: "chunks/[name]-[hash]",
      bundle: true,
      platform: "node",
      format: "esm",
      // The SDK's ES module builds: they tree-shake, and a dynamic import of them keeps its named exports.
      mainFields: ["module", "main"],
      target: options.target ?? DEFAULT_TARGET,
      minify: true,
      sourcemap: "linked",
      sourcesContent: false,
      legalComments: "none",
      logLevel: "warning",
      // Some CommonJS dependencies of the SDK call require(); ESM output needs one in scope.
      banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    },
  };
}

function writeBundle(plan: BundlePlan, result: CachedBuild): Bundle {
  const files = result.outputFiles.map((f) => ({ name: relativeName(plan.virtualOutDir, f), file: f })).sort((a, b) => (a.name < b.name ? -1 : 1));
  // Metafile paths are relative to the working directory; dynamic-import chunks are entry points too.
  const indexPath = path.join(path.relative(plan.esbuild.absWorkingDir ?? "", plan.virtualOutDir), BUNDLE_FILE).split(path.sep).join("/");
  const index = Object.entries(result.metafile.outputs).find(([name]) => name === indexPath);
  if (plan.handlerExport !== false && !index?.[1].exports.includes(plan.handlerExport)) {
    throw new BundleEntryError(
      `${plan.entry} does not export "${plan.handlerExport}" (it exports: ${index?.[1].exports.join(", ") || "nothing"}); ` +
        `Lambda calls index.${plan.handlerExport}. A consumer entry is: export const handler = createConsumerHandler({ processPayload })`,
    );
  }
  const hash = createHash("sha256");
  for (const { name, file } of files) hash.update(name).update("\0").update(file.contents).update("\0");
  const contentHash = hash.digest("base64");
  const dir = plan.outDir ?? path.join(os.tmpdir(), "lambda-s3-async-lambda-bundles", Buffer.from(contentHash, "base64").toString("hex"));
  if (plan.outDir !== undefined || !existsSync(dir)) {
    // Written beside and renamed into place, so a reader never sees half a bundle.
    const staging = `${dir}.${process.pid}.${Date.now()}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    for (const { name, file } of files) {
      const target = path.join(staging, ...name.split("/"));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.contents);
    }
    // A caller's own directory is replaced; a content-addressed one is never touched once it
    // exists, because another synthesis may be zipping it right now.
    if (plan.outDir !== undefined) rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.dirname(dir), { recursive: true });
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another process put the same content-addressed bundle there first.
      rmSync(staging, { recursive: true, force: true });
      if (plan.outDir !== undefined || !existsSync(dir)) throw err;
    }
  }
  return { dir, file: path.join(dir, BUNDLE_FILE), contentHash };
}

function relativeName(virtualOutDir: string, file: { readonly path: string }): string {
  return path.relative(virtualOutDir, file.path).split(path.sep).join("/");
}

function ownModule(name: string): string {
  return path.join(MODULES_ROOT, `${name}${OWN_EXTENSION}`);
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}
