/**
 * `npm run local`: a long-running local cloud, like `sam local start-lambda` plus an S3 endpoint.
 * Ctrl-C stops it cleanly.
 *
 *   npm run local -- [--lambda-port 3001] [--s3-port 4568]
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../stacks/config";
import { loadProjectConfig } from "../stacks/project-config";
import { runLocalServer } from "./local-server";
import { DEFAULT_LAMBDA_PORT, DEFAULT_S3_PORT } from "./ports";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "lambda-port": { type: "string", default: String(DEFAULT_LAMBDA_PORT) },
      "s3-port": { type: "string", default: String(DEFAULT_S3_PORT) },
    },
  });
  const port = (name: "lambda-port" | "s3-port") => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535, got ${JSON.stringify(values[name])}`);
    return n;
  };
  const config = loadProjectConfig();
  const cloud = await runLocalServer(config, { lambdaPort: port("lambda-port"), s3Port: port("s3-port"), print: (l) => console.log(l) });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local cloud …`);
    cloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

class UsageError extends Error {}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError) {
    console.error(err.message);
  } else if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
    console.error(`${(err as Error).message}: another process holds the port; pass --lambda-port or --s3-port`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
