/**
 * The cdktf app entry (`npx tsx main.ts`, `npm run synth`, or `cdktf synth|deploy` through
 * cdktf.json): validates the settings, bundles both handlers once, and writes
 * cdktf.out/stacks/<stack>/cdk.tf.json. No cdktf-cli or terraform is needed to synthesize.
 */
import path from "node:path";
import { PROJECT_ROOT } from "./bundling/bundle";
import { ConfigError } from "./stacks/config";
import { synthesizeApp } from "./stacks/app";

try {
  const { stackFile } = await synthesizeApp();
  console.log(`Synthesized ${path.relative(PROJECT_ROOT, stackFile)}`);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
