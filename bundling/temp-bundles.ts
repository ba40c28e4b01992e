/** For tests: real bundles of the real handlers, in a temporary directory removed by `cleanup`. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RUNTIMES } from "../stacks/config.ts";
import { loadProjectConfig } from "../stacks/project-config.ts";
import { bundleHandlers, type Bundle, type FunctionRole } from "./bundle.ts";

/** The esbuild target of the configured Lambda runtime (STACK_RUNTIME=nodejs24.x: node24), as the stack bundles. */
export function configuredTarget(): string {
  return RUNTIMES[loadProjectConfig().runtime];
}

export async function bundleToTempDir(): Promise<{ bundles: Record<FunctionRole, Bundle>; root: string; cleanup: () => void }> {
  const root = mkdtempSync(path.join(os.tmpdir(), "bundles-"));
  const bundles = await bundleHandlers({ outDir: path.join(root, "bundles"), target: configuredTarget() });
  return { bundles, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
