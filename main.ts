/**
 * The cdktf app: validates the settings, bundles both handlers once, and synthesizes the stack
 * into cdktf.out/stacks/<stack>/cdk.tf.json. Runs with `npx tsx main.ts`, no cdktf-cli needed.
 */
import path from "node:path";
import { App } from "cdktf";
import { bundleHandlers, PROJECT_ROOT } from "./bundling/bundle";
import { cdktfJsonContext, ConfigError, loadStackConfig, RUNTIMES, type StackConfig } from "./stacks/config";
import { PipelineStack } from "./stacks/pipeline-stack";

const app = new App({ context: cdktfJsonContext(path.join(PROJECT_ROOT, "cdktf.json")), stackTraces: false });

let config: StackConfig;
try {
  config = loadStackConfig(app.node, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const bundles = await bundleHandlers({ target: RUNTIMES[config.runtime] });
new PipelineStack(app, config.stackName, { config, bundles });
app.synth();
