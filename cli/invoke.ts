/**
 * `npm run invoke -- <file|-> [options]`: sends a payload through SendPayloadFunction and prints
 * its response (route, id, size, sha256, bucket/key). Exits 1 if the sender fails, 2 on bad usage.
 *
 *   --target local   the local cloud (default), at --endpoint-url or http://127.0.0.1:3001
 *   --target aws     the deployed stack, with credentials and region from the standard AWS chain
 *   --function-name  overrides the configured sender name
 *   --binary         send the file's bytes as binary even if they are JSON
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { ConfigError } from "../stacks/config";
import { loadProjectConfig } from "../stacks/project-config";
import { DEFAULT_LAMBDA_PORT } from "./ports";
import { invokeSender, localLambdaClient, requestBodyFor, SenderError } from "./sender-client";

const USAGE = "usage: npm run invoke -- <file|-> [--target local|aws] [--endpoint-url URL] [--function-name NAME] [--region REGION] [--binary]";

class UsageError extends Error {}

async function readInput(source: string): Promise<Buffer> {
  if (source !== "-") return readFile(source);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: "string", default: "local" },
      "endpoint-url": { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      binary: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError(USAGE);
  if (values.target !== "local" && values.target !== "aws") throw new UsageError(`--target must be "local" or "aws", got ${JSON.stringify(values.target)}\n${USAGE}`);

  const config = loadProjectConfig();
  const functionName = values["function-name"] ?? config.senderFunctionName;
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? config.region;
  // Local and deployed differ only in how the client is built; the invoke path is shared.
  const client =
    values.target === "aws"
      ? new LambdaClient({ region, ...(values["endpoint-url"] !== undefined && { endpoint: values["endpoint-url"] }) })
      : localLambdaClient(values["endpoint-url"] ?? process.env.AWS_ENDPOINT_URL_LAMBDA ?? `http://127.0.0.1:${DEFAULT_LAMBDA_PORT}`, region);
  try {
    const input = await readInput(positionals[0]!);
    const { body } = requestBodyFor(input, values.binary);
    const response = await invokeSender(client, functionName, body).catch((err: unknown) => {
      if (values.target === "local" && err instanceof SenderError && err.message.includes("ECONNREFUSED")) {
        throw new SenderError(`${err.message}\nIs the local cloud running? Start it with \`npm run local\`.`);
      }
      throw err;
    });
    console.log(JSON.stringify(response, null, 2));
    return 0;
  } finally {
    client.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof SenderError) {
      console.error(err.message);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    } else if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      console.error(`Cannot read ${(err as NodeJS.ErrnoException).path}: no such file`);
      process.exitCode = 2;
    } else if ((err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      console.error(`${(err as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
