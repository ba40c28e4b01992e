/**
 * Builds and synthesizes the cdktf app. `main.ts` (and so `cdktf synth`) and `npm start` both call
 * this, so the demo runs the very bundles the synthesized stack deploys.
 */
import path from "node:path";
import { App } from "cdktf";
import { PROJECT_ROOT, type Bundle, type FunctionRole } from "../bundling/bundle.ts";
import { cdktfJsonContext, type Environment, type StackConfig } from "./config.ts";
import { PipelineStack } from "./pipeline-stack.ts";
import { loadProjectConfig } from "./project-config.ts";

export interface SynthResult {
  readonly config: StackConfig;
  readonly bundles: Record<FunctionRole, Bundle>;
  /** Absolute path of the synthesized cdk.tf.json. */
  readonly stackFile: string;
}

export async function synthesizeApp(env: Environment = process.env): Promise<SynthResult> {
  // Validated before the App exists: its constructor creates the output directory, and a bad
  // setting must leave nothing behind (nor race another synthesis into the same directory).
  // loadProjectConfig merges context exactly as the App does (stacks/project-config.test.ts).
  const config = loadProjectConfig(env);
  const app = new App({ context: cdktfJsonContext(path.join(PROJECT_ROOT, "cdktf.json")), stackTraces: false });
  const { pipeline } = new PipelineStack(app, config.stackName, { config });
  app.synth();
  return {
    config,
    bundles: { consumer: pipeline.consumerBundle, sender: pipeline.senderBundle! },
    stackFile: path.join(app.outdir, "stacks", config.stackName, "cdk.tf.json"),
  };
}
