/**
 * `npm run invoke -- <file|-> [options]`: sends a payload through SendPayloadFunction and prints
 * its response (route, id, size, sha256, bucket/key). Exits 1 if the sender fails, 2 on bad usage.
 */
import { readFile, stat } from "node:fs/promises";
import { SYNC_PAYLOAD_LIMIT_BYTES } from "../lib/contract.ts";
import { ConfigError } from "../stacks/config.ts";
import { loadProjectConfig } from "../stacks/project-config.ts";
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./command-line.ts";
import { DEFAULT_LAMBDA_PORT, DEFAULT_LOCAL_LAMBDA_ENDPOINT, DEFAULT_LOCAL_S3_ENDPOINT, DEFAULT_S3_PORT } from "./ports.ts";
import { largestBinaryPayload, requestBodyFor } from "./request-body.ts";

const USAGE = "usage: npm run invoke -- <file|-> [--target local|aws] [--endpoint-url URL] [--function-name NAME] [--region REGION] [--binary] [--bucket NAME] [--s3-endpoint-url URL]";
const fmt = new Intl.NumberFormat("en-US").format;
/** The largest payloads a request limit admits: the sender is handed the payload in its own invoke. */
const ceiling = (requestLimit: number) =>
  `at most ${fmt(requestLimit)} bytes of JSON or ${fmt(largestBinaryPayload(requestLimit))} bytes of binary`;
const HELP = `${USAGE}

Sends a file's bytes (or stdin's, with -) through SendPayloadFunction, synchronously, and prints
its response: the route (inline or s3), the payload's id, size and sha256, and the bucket and key.

  <file|->              valid UTF-8 JSON is sent as JSON; anything else as binary ({"$base64": …})
  --target local        the local cloud of \`npm run local\` (default)
  --target aws          the deployed stack, with the standard AWS credential and region chain
  --endpoint-url URL    Lambda endpoint (local default: http://127.0.0.1:${DEFAULT_LAMBDA_PORT})
  --function-name NAME  the sender to invoke (default: the configured sender name)
  --region REGION       overrides AWS_REGION, AWS_DEFAULT_REGION and the configured region
  --binary              send the exact file bytes as binary even when they are JSON
  --bucket NAME         payload bucket for payloads sent directly (default: the configured bucket;
                        local: the one the local cloud's consumer reads)
  --s3-endpoint-url URL S3 endpoint for payloads sent directly (local default: the one the local
                        cloud at --endpoint-url gives its functions, else http://127.0.0.1:${DEFAULT_S3_PORT})
  -h, --help            print this help

Size: Lambda accepts a synchronous request of up to ${fmt(SYNC_PAYLOAD_LIMIT_BYTES)} bytes, so the sender takes
${ceiling(SYNC_PAYLOAD_LIMIT_BYTES)} (base64 makes binary 4/3 larger). Larger payloads
are sent directly with the producer library, as binary (the exact bytes), to the consumer function
and the bucket: S3 multipart, streamed from the file, with a progress bar on a terminal.

Exit status: 0 sent; 1 the invocation or the sender failed; 2 bad usage or an unreadable file.`;

/** The input file cannot be read: bad usage, reported without a stack trace. */
class InputError extends UsageError {}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  EACCES: "permission denied",
};

async function readInput(source: string): Promise<Buffer> {
  if (source === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new InputError(`Cannot read ${source}: ${READ_ERRORS[code] ?? (err as Error).message}`);
  }
}

/** Says what was too large, in the user's terms: the file's size, not only the request's. */
function tooLargeMessage(source: string, input: Uint8Array, request: { body: Uint8Array; format: "json" | "binary" }, functionName: string, lambdaMessage: string): string {
  const limit = Number(/\(limit (\d+) bytes\)/.exec(lambdaMessage)?.[1] ?? SYNC_PAYLOAD_LIMIT_BYTES);
  const what = source === "-" ? "stdin" : source;
  const sent =
    request.format === "binary"
      ? `sent as binary (base64), that is a ${fmt(request.body.length)}-byte request`
      : `sent as JSON, that is a ${fmt(request.body.length)}-byte request`;
  return [
    `${what} is ${fmt(input.length)} bytes; ${sent} to ${functionName}, over Lambda's limit of ${fmt(limit)} bytes for a synchronous invoke.`,
    `The sender takes ${ceiling(limit)}; larger files are sent directly with the producer library (README, "How large a payload can be").`,
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    argv,
    USAGE,
    {
      target: { type: "string", default: "local" },
      "endpoint-url": { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      binary: { type: "boolean", default: false },
      bucket: { type: "string" },
      "s3-endpoint-url": { type: "string" },
    },
    true,
  );
  if (args === "help") {
    console.log(HELP);
    return 0;
  }
  const { values, positionals } = args;
  if (positionals.length !== 1) throw new UsageError(USAGE);
  if (values.target !== "local" && values.target !== "aws") throw new UsageError(`--target must be "local" or "aws", got ${JSON.stringify(values.target)}\n${USAGE}`);

  const config = loadProjectConfig();
  const functionName = values["function-name"] ?? config.senderFunctionName;
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? config.region;
  const source = positionals[0]!;
  // A file that cannot fit the sender's request is streamed from disk, never read whole.
  const fileSize = source === "-" ? undefined : await stat(source).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
  if (fileSize !== undefined && fileSize > SYNC_PAYLOAD_LIMIT_BYTES) return direct(values, config, region, { file: source, size: fileSize });
  const input = await readInput(source);
  const request = requestBodyFor(input, values.binary);
  if (request.body.length > SYNC_PAYLOAD_LIMIT_BYTES) return direct(values, config, region, { bytes: input });

  // The SDK is loaded only to invoke: --help and bad usage answer without it.
  const [{ LambdaClient }, { invokeSender, localLambdaClient, SenderError }] = await Promise.all([import("@aws-sdk/client-lambda"), import("./sender-client.ts")]);
  // Local and deployed differ only in how the client is built; the invoke path is shared.
  const client =
    values.target === "aws"
      ? new LambdaClient({ region, ...(values["endpoint-url"] !== undefined && { endpoint: values["endpoint-url"] }) })
      : localLambdaClient(values["endpoint-url"] ?? process.env.AWS_ENDPOINT_URL_LAMBDA ?? DEFAULT_LOCAL_LAMBDA_ENDPOINT, region);
  try {
    console.log(JSON.stringify(await invokeSender(client, functionName, request.body), null, 2));
    return 0;
  } catch (err) {
    if (!(err instanceof SenderError)) throw err;
    if (err.httpStatus === 413) console.error(tooLargeMessage(source, input, request, functionName, err.message));
    else if (values.target === "local" && err.message.includes("ECONNREFUSED")) console.error(`${err.message}\nIs the local cloud running? Start it with \`npm run local\`.`);
    else console.error(err.message);
    return 1;
  } finally {
    client.destroy();
  }
}

/** Sends through the producer library, to the consumer function and bucket, and prints what it did. */
async function direct(
  values: { target?: string; "endpoint-url"?: string; bucket?: string; "s3-endpoint-url"?: string },
  config: ReturnType<typeof loadProjectConfig>,
  region: string,
  source: import("./direct-send.ts").DirectSource,
): Promise<number> {
  const local = values.target !== "aws";
  const lambdaEndpoint = values["endpoint-url"] ?? process.env.AWS_ENDPOINT_URL_LAMBDA ?? DEFAULT_LOCAL_LAMBDA_ENDPOINT;
  // The local cloud at that endpoint says where its S3 is and which bucket its consumer reads.
  const facts = local && (values.bucket === undefined || (values["s3-endpoint-url"] ?? process.env.AWS_ENDPOINT_URL_S3) === undefined) ? await discover(lambdaEndpoint, region, config.consumerFunctionName) : {};
  // Loaded here only: local/cloud.ts brings the bundler along.
  const bucket = values.bucket ?? (local ? (facts.bucket ?? (await import("../local/cloud.ts")).LOCAL_BUCKET) : config.bucketName);
  if (bucket === undefined) {
    throw new UsageError(
      "This payload is larger than the sender function accepts, so it goes to the bucket directly; the bucket name is generated:\n" +
        "pass --bucket \"$(terraform -chdir=cdktf.out/stacks/<stack> output -raw bucket_name)\"",
    );
  }
  const { sendDirect } = await import("./direct-send.ts");
  const target = {
    local,
    region,
    consumerFunction: config.consumerFunctionName,
    bucket,
    ...(local
      ? {
          lambdaEndpoint,
          s3Endpoint: values["s3-endpoint-url"] ?? process.env.AWS_ENDPOINT_URL_S3 ?? facts.s3Endpoint ?? DEFAULT_LOCAL_S3_ENDPOINT,
        }
      : {
          ...(values["endpoint-url"] !== undefined && { lambdaEndpoint: values["endpoint-url"] }),
          ...(values["s3-endpoint-url"] !== undefined && { s3Endpoint: values["s3-endpoint-url"] }),
        }),
  };
  try {
    console.log(JSON.stringify(await sendDirect(target, source), null, 2));
    return 0;
  } catch (err) {
    const message = `${(err as Error).name}: ${(err as Error).message}`;
    console.error(local && /ECONNREFUSED/.test(String((err as Error).message) + String((err as { cause?: unknown }).cause)) ? `${message}\nIs the local cloud running? Start it with \`npm run local\`.` : message);
    return 1;
  }
}

async function discover(lambdaEndpoint: string, region: string, consumer: string) {
  const [{ localLambdaClient }, { localCloudFacts }] = await Promise.all([import("./sender-client.ts"), import("./local-endpoints.ts")]);
  const client = localLambdaClient(lambdaEndpoint, region);
  try {
    return await localCloudFacts(client, consumer);
  } finally {
    client.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exitCode = USAGE_EXIT_CODE;
    } else if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
