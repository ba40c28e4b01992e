/**
 * The project's settings (cdktf.json "context", CDKTF_CONTEXT_JSON, STACK_* variables) without
 * loading cdktf or the stack, so `npm run invoke` and `npm run local` start quickly. Context is
 * merged the way cdktf's App does: CDKTF_CONTEXT_JSON overrides cdktf.json key by key.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cdktfJsonContext, ConfigError, loadStackConfig, type Environment, type StackConfig } from "./config.ts";

const CDKTF_JSON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "cdktf.json");

export function loadProjectConfig(env: Environment = process.env): StackConfig {
  let fromEnv: Record<string, unknown> = {};
  const json = env.CDKTF_CONTEXT_JSON;
  if (json) {
    try {
      fromEnv = JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError([{ field: "context", value: json, source: "environment variable CDKTF_CONTEXT_JSON", allowed: `a JSON object (${(err as Error).message})` }]);
    }
  }
  const context = { ...cdktfJsonContext(CDKTF_JSON), ...fromEnv };
  return loadStackConfig({ tryGetContext: (key) => context[key] }, env);
}
