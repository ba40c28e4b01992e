/**
 * The one place handlers are bundled. The cdktf stack deploys these bundles and the local
 * runtime and tests execute the very same files, so what is tested is what is deployed.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The two functions, by role. Each bundles to its own directory so each zip holds one handler. */
export const FUNCTIONS = {
  sender: { entry: "handlers/sender.ts" },
  consumer: { entry: "handlers/consumer.ts" },
} as const;
export type FunctionRole = keyof typeof FUNCTIONS;

/** Lambda loads `index.mjs` as ESM and calls its `handler` export. */
export const BUNDLE_FILE = "index.mjs";
export const LAMBDA_HANDLER = "index.handler";

export interface BundleOptions {
  /**
   * Directory the bundles are written to, one subdirectory per function.
   * @default "dist" under the project root
   */
  readonly outDir?: string;
  /**
   * esbuild target; match the Lambda runtime (`nodejs22.x` → `node22`).
   * @default "node22"
   */
  readonly target?: string;
  /**
   * Only bundle these functions.
   * @default both
   */
  readonly only?: readonly FunctionRole[];
}

export interface Bundle {
  readonly role: FunctionRole;
  /** Absolute directory holding `index.mjs`, its chunks and their source maps: the zip's content. */
  readonly dir: string;
  /** Absolute path of `index.mjs`. */
  readonly file: string;
  /** Base64 SHA-256 over the bundle's files, stable across machines (zips are not). */
  readonly contentHash: string;
}

export async function bundleHandlers(options: BundleOptions = {}): Promise<Record<FunctionRole, Bundle>> {
  const outDir = path.resolve(PROJECT_ROOT, options.outDir ?? "dist");
  const target = options.target ?? "node22";
  const roles = options.only ?? (Object.keys(FUNCTIONS) as FunctionRole[]);
  const bundles = await Promise.all(roles.map((role) => bundleOne(role, outDir, target)));
  return Object.fromEntries(bundles.map((b) => [b.role, b])) as Record<FunctionRole, Bundle>;
}

async function bundleOne(role: FunctionRole, outDir: string, target: string): Promise<Bundle> {
  const dir = path.join(outDir, role);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await bundleEntry(FUNCTIONS[role].entry, dir, target);
  return { role, dir, file: path.join(dir, BUNDLE_FILE), contentHash: await contentHash(dir) };
}

/** Bundles one entry module into `dir/index.mjs` plus chunks; also used for the benchmark's probe. */
export async function bundleEntry(entry: string, dir: string, target: string): Promise<void> {
  await build({
    // A relative working directory keeps absolute paths out of the bundle and its source map.
    absWorkingDir: PROJECT_ROOT,
    entryPoints: { index: entry },
    outdir: path.relative(PROJECT_ROOT, dir),
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
    target,
    minify: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    // Some CommonJS dependencies of the SDK call require(); ESM output needs one in scope.
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  });
}

/** Base64 SHA-256 over every file's relative path and content, in a fixed order. */
async function contentHash(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join("/"))
    .sort();
  for (const name of files) {
    hash.update(name).update("\0").update(await readFile(path.join(dir, name))).update("\0");
  }
  return hash.digest("base64");
}
