/** `npm run bundle`: bundle both handlers into .bundles/ and print what was written. */
import path from "node:path";
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "../cli/command-line.ts";
import { bundleHandlers, PROJECT_ROOT } from "./bundle.ts";

const USAGE = "usage: npm run bundle";
const HELP = `${USAGE}

Bundles both handlers into .bundles/sender and .bundles/consumer with esbuild (minified ESM with source
maps, target node22), as the stack deploys them, and prints each bundle's path and content hash.
\`npm run synth\` bundles for the configured runtime by itself; this is for looking at the output.`;

async function main(argv: string[]): Promise<number> {
  if (parseCommandLine(argv, USAGE, {}) === "help") {
    console.log(HELP);
    return 0;
  }
  for (const [role, b] of Object.entries(await bundleHandlers())) {
    console.log(`${role.padEnd(8)} ${path.relative(PROJECT_ROOT, b.file)}  sha256 ${b.contentHash}`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((err: unknown) => {
  if (!(err instanceof UsageError)) throw err;
  console.error(err.message);
  return USAGE_EXIT_CODE;
});
