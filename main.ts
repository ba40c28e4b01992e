/**
 * The cdktf app entry (`npx tsx main.ts`, `npm run synth`, or `cdktf synth|deploy` through
 * cdktf.json): validates the settings, bundles both handlers once, and writes
 * cdktf.out/stacks/<stack>/cdk.tf.json. No cdktf-cli or terraform is needed to synthesize.
 */
import path from "node:path";
import { PROJECT_ROOT } from "./bundling/bundle.ts";
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./cli/command-line.ts";
import { ConfigError } from "./stacks/config.ts";

const USAGE = "usage: npm run synth";
const HELP = `${USAGE}

Validates the settings (cdktf.json "context", CDKTF_CONTEXT_JSON, STACK_* variables; README,
"Configuration"), bundles both handlers for the configured runtime and writes
cdktf.out/stacks/<stack>/cdk.tf.json with the functions' zips beside it, for \`terraform apply\`.
It is also what \`cdktf synth\` and \`cdktf deploy\` run. Exit status: 0 written; 1 a bad setting
(nothing is written); 2 bad usage.`;

try {
  if (parseCommandLine(process.argv.slice(2), USAGE, {}) === "help") {
    console.log(HELP);
  } else {
    // Imported after the arguments are read: cdktf and the provider take a second to load.
    const { synthesizeApp } = await import("./stacks/app.ts");
    const { stackFile } = await synthesizeApp();
    console.log(`Synthesized ${path.relative(PROJECT_ROOT, stackFile)}`);
  }
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(USAGE_EXIT_CODE);
  }
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
