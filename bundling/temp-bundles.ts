/** For tests: real bundles of the real handlers, in a temporary directory removed by `cleanup`. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleHandlers, type Bundle, type FunctionRole } from "./bundle.ts";

export async function bundleToTempDir(): Promise<{ bundles: Record<FunctionRole, Bundle>; root: string; cleanup: () => void }> {
  const root = mkdtempSync(path.join(os.tmpdir(), "bundles-"));
  const bundles = await bundleHandlers({ outDir: path.join(root, "bundles") });
  return { bundles, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
