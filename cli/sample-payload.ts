/**
 * `npm run --silent sample-payload -- [bytes] > payload-large.json`: writes a sample-shaped
 * payload larger than `bytes` (default 1,500,000, above the 1 MiB Event limit) to stdout.
 */
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./command-line.ts";
import { largeSample } from "./samples.ts";

const USAGE = "usage: npm run --silent sample-payload -- [BYTES] > payload-large.json";
const HELP = `${USAGE}

Writes a JSON array in the original sample's shape, [{"key":0,"value":"serverless","dummy":"data"},…],
whose JSON is just larger than BYTES (an integer from 1 to 6000000; default 1500000, over the
1,048,576-byte limit of an asynchronous invoke, so it takes the S3 route).`;

function main(argv: string[]): number {
  const args = parseCommandLine(argv, USAGE, {}, true);
  if (args === "help") {
    console.log(HELP);
    return 0;
  }
  if (args.positionals.length > 1) throw new UsageError(USAGE);
  const arg = args.positionals[0] ?? "1500000";
  const bytes = Number(arg);
  if (!/^\d+$/.test(arg) || bytes < 1 || bytes > 6_000_000) {
    throw new UsageError(`sample-payload: size must be an integer from 1 to 6000000 bytes, got ${JSON.stringify(arg)}\n${USAGE}`);
  }
  process.stdout.write(JSON.stringify(largeSample(bytes)));
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(err.message);
  process.exitCode = USAGE_EXIT_CODE;
}
