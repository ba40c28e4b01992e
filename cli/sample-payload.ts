/**
 * `npm run --silent sample-payload -- [bytes] > payload-large.json`: writes a sample-shaped
 * payload larger than `bytes` (default 1,500,000, above the 1 MiB Event limit) to stdout.
 */
import { largeSample } from "./samples";

const arg = process.argv[2] ?? "1500000";
const bytes = Number(arg);
if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 6_000_000) {
  console.error(`sample-payload: size must be an integer from 1 to 6000000 bytes, got ${JSON.stringify(arg)}`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(largeSample(bytes)));
