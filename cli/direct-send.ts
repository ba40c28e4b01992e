/**
 * `npm run invoke` for payloads the sender function cannot be handed (over Lambda's 6 MiB
 * synchronous request): the producer library sends them itself, streaming a file from disk, with
 * a progress bar on a terminal. Locally or against a deployed stack, only the clients differ.
 */
import { createReadStream } from "node:fs";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { sendPayload, type SendResult, type UploadProgress } from "../lib/producer.ts";
import { LOCAL_CREDENTIALS } from "./sender-client.ts";

export interface DirectTarget {
  readonly local: boolean;
  readonly region: string;
  readonly consumerFunction: string;
  readonly bucket: string;
  /** Lambda and S3 endpoints; required locally. */
  readonly lambdaEndpoint?: string;
  readonly s3Endpoint?: string;
}

/** A file (streamed, never read whole) or bytes already read (stdin). */
export type DirectSource = { readonly file: string; readonly size: number } | { readonly bytes: Uint8Array };

export async function sendDirect(target: DirectTarget, source: DirectSource): Promise<SendResult> {
  const common = target.local ? { region: target.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 } : { region: target.region };
  const lambda = new LambdaClient({ ...common, ...(target.lambdaEndpoint !== undefined && { endpoint: target.lambdaEndpoint }) });
  const s3 = new S3Client({ ...common, ...(target.s3Endpoint !== undefined && { endpoint: target.s3Endpoint, forcePathStyle: true }) });
  const size = "file" in source ? source.size : source.bytes.length;
  const bar = progressBar(size);
  try {
    const payload = "file" in source ? createReadStream(source.file, { highWaterMark: 1_048_576 }) : source.bytes;
    return await sendPayload(
      { consumerFunction: target.consumerFunction, bucket: target.bucket, lambdaClient: lambda, s3Client: s3 },
      payload,
      { format: "binary", ...("file" in source && { contentLength: size }), ...(bar && { onProgress: bar }) },
    );
  } finally {
    if (bar) process.stderr.write("\n");
    lambda.destroy();
    s3.destroy();
  }
}

/** A one-line bar on stderr, only on a terminal and only for uploads long enough to watch. */
function progressBar(total: number): ((p: UploadProgress) => void) | undefined {
  if (!process.stderr.isTTY || total < 32 * 1_048_576) return undefined;
  const mib = (n: number) => (n / 1_048_576).toFixed(0);
  return ({ loaded }) => {
    const width = 30;
    const done = Math.min(width, Math.round((loaded / total) * width));
    process.stderr.write(`\r[${"#".repeat(done)}${" ".repeat(width - done)}] ${Math.floor((loaded / total) * 100)}% ${mib(loaded)}/${mib(total)} MiB`);
  };
}
