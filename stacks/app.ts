/**
 * Builds and synthesizes the cdktf app. `main.ts` (and so `cdktf synth`) and `npm start` both call
 * this, so the demo runs the very bundles the synthesized stack deploys.
 */
import path from "node:path";
import { App } from "cdktf";
import { bundleHandlers, PROJECT_ROOT, type Bundle, type FunctionRole } from "../bundling/bundle";
import { cdktfJsonContext, loadStackConfig, RUNTIMES, type Environment, type StackConfig } from "./config";
import { PipelineStack } from "./pipeline-stack";

export interface SynthResult {
  readonly config: StackConfig;
  readonly bundles: Record<FunctionRole, Bundle>;
  /** Absolute path of the synthesized cdk.tf.json. */
  readonly stackFile: string;
}

export async function synthesizeApp(env: Environment = process.env): Promise<SynthResult> {
  const app = new App({ context: cdktfJsonContext(path.join(PROJECT_ROOT, "cdktf.json")), stackTraces: false });
  const config = loadStackConfig(app.node, env);
  const bundles = await bundleHandlers({ target: RUNTIMES[config.runtime] });
  new PipelineStack(app, config.stackName, { config, bundles });
  app.synth();
  return { config, bundles, stackFile: path.join(app.outdir, "stacks", config.stackName, "cdk.tf.json") };
}
