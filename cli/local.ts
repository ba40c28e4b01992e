/**
 * `npm run local`: a long-running local cloud, like `sam local start-lambda` plus an S3 endpoint.
 * Ctrl-C stops it cleanly.
 */
import net from "node:net";
import { ConfigError } from "../stacks/config.ts";
import { loadProjectConfig } from "../stacks/project-config.ts";
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./command-line.ts";
import { DEFAULT_LAMBDA_PORT, DEFAULT_S3_PORT } from "./ports.ts";

const USAGE = "usage: npm run local -- [--lambda-port PORT] [--s3-port PORT] [--state-dir DIR] [--consumer FILE]";
const HELP = `${USAGE}

Runs the local cloud until Ctrl-C: the Lambda Invoke API (like \`sam local start-lambda\`) and S3,
both on 127.0.0.1, running the deployable bundles with the deployment's settings (cdktf.json and
STACK_* variables; see the README's Configuration). Prints the endpoints, the bucket and AWS CLI
commands to paste, then every function log line.

  --lambda-port PORT  port of the Lambda Invoke API (default ${DEFAULT_LAMBDA_PORT}; 0 picks a free one)
  --s3-port PORT      port of S3 (default ${DEFAULT_S3_PORT}; 0 picks a free one)
  --state-dir DIR     keep S3's objects (payloads, failure records) and the idempotency table in DIR,
                      so they outlive a restart (default: thrown away when it stops)
  --consumer FILE     run this module's \`handler\` as the consumer instead of handlers/consumer.ts,
                      e.g. local/fixtures/failing-consumer-handler.ts, whose business function
                      always throws, to produce failure records for \`npm run redrive\`
  -h, --help          print this help`;

type PortOption = "--lambda-port" | "--s3-port";

class PortInUseError extends Error {
  constructor(option: PortOption, port: number) {
    super(`Port ${port} (${option}) is in use: another process, perhaps another \`npm run local\`, holds 127.0.0.1:${port}. Stop it, or pass ${option} with a free port (0 picks one).`);
  }
}

/** Fails fast, before bundling, when a port is taken; the real listen still reports a later race. */
async function checkPortFree(option: PortOption, port: number): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(port, "127.0.0.1", resolve);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") throw new PortInUseError(option, port);
    throw err;
  } finally {
    if (probe.listening) await new Promise((resolve) => probe.close(resolve));
  }
}

async function main(argv: string[]): Promise<number | "running"> {
  const args = parseCommandLine(argv, USAGE, {
    "lambda-port": { type: "string", default: String(DEFAULT_LAMBDA_PORT) },
    "s3-port": { type: "string", default: String(DEFAULT_S3_PORT) },
    "state-dir": { type: "string" },
    consumer: { type: "string" },
  });
  if (args === "help") {
    console.log(HELP);
    return 0;
  }
  const port = (name: "lambda-port" | "s3-port") => {
    const raw = args.values[name];
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}\n${USAGE}`);
    return n;
  };
  const ports = { "--lambda-port": port("lambda-port"), "--s3-port": port("s3-port") };
  if (ports["--lambda-port"] !== 0 && ports["--lambda-port"] === ports["--s3-port"]) {
    throw new UsageError(`--lambda-port and --s3-port are both ${ports["--s3-port"]}; they need different ports\n${USAGE}`);
  }
  const config = loadProjectConfig();
  await checkPortFree("--s3-port", ports["--s3-port"]);
  await checkPortFree("--lambda-port", ports["--lambda-port"]);
  // Loaded only now: the local cloud's modules take half a second, which --help, a bad option
  // or a busy port should not wait for.
  const { runLocalServer } = await import("./local-server.ts");
  let cloud;
  try {
    cloud = await runLocalServer(config, {
      lambdaPort: ports["--lambda-port"],
      s3Port: ports["--s3-port"],
      print: (l) => console.log(l),
      ...(args.values["state-dir"] !== undefined && { stateDir: args.values["state-dir"] }),
      ...(args.values.consumer !== undefined && { consumerEntry: args.values.consumer }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { port?: number };
    const option = (Object.keys(ports) as PortOption[]).find((o) => ports[o] !== 0 && ports[o] === e.port);
    if (e.code === "EADDRINUSE" && option) throw new PortInUseError(option, ports[option]);
    throw err;
  }
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
  return "running";
}

main(process.argv.slice(2)).then(
  (result) => {
    if (result !== "running") process.exitCode = result;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exit(USAGE_EXIT_CODE);
    }
    // Known failures are explained in one message; anything else is a bug, so show its stack.
    const known = err instanceof ConfigError || err instanceof PortInUseError || (err as Error).name === "BundleEntryError";
    console.error(known ? (err as Error).message : err);
    process.exit(1);
  },
);
