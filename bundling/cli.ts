/** `npm run build`: bundle both handlers into dist/ and print what was written. */
import path from "node:path";
import { bundleHandlers, PROJECT_ROOT } from "./bundle";

for (const b of Object.values(await bundleHandlers())) {
  console.log(`${b.role.padEnd(8)} ${path.relative(PROJECT_ROOT, b.file)}  sha256 ${b.contentHash}`);
}
