/**
 * Invoking the sender the way any client does, through Lambda's Invoke API, for `npm start` and
 * `npm run invoke`; locally or against a deployed stack, the code path is the same.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Reason, SendResult } from "../handlers/sender.ts";
import type { PayloadEncoding } from "../lib/compression.ts";

/** SendPayloadFunction's response, with either route's fields readable without narrowing. */
export type SenderResponse = SendResult & {
  reason?: S3Reason;
  inlineSize?: number;
  encoding?: PayloadEncoding;
  compressedSize?: number;
  bucket?: string;
  key?: string;
};

export class SenderError extends Error {
  override readonly name = "SenderError";
  /** HTTP status of a rejected invocation (413: the request is over Lambda's limit). */
  readonly httpStatus?: number;

  constructor(
    message: string,
    httpStatus?: number,
  ) {
    super(message);
    this.httpStatus = httpStatus;
  }
}

/** Credentials the local cloud accepts; it does not check signatures. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

export function localLambdaClient(endpoint: string, region: string): LambdaClient {
  return new LambdaClient({ endpoint, region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
}

export async function invokeSender(client: LambdaClient, functionName: string, body: Uint8Array): Promise<SenderResponse> {
  let out;
  try {
    out = await client.send(new InvokeCommand({ FunctionName: functionName, Payload: body }));
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    throw new SenderError(`Invoking ${functionName} failed: ${e.name}: ${e.message}${status ? ` (HTTP ${status})` : ""}`, status);
  }
  const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
  if (out.FunctionError) {
    let detail = text;
    try {
      const parsed = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = `${parsed.errorType ?? "Error"}: ${parsed.errorMessage ?? text}`;
    } catch {
      // keep the raw body
    }
    throw new SenderError(`${functionName} failed (${out.FunctionError}): ${detail}`);
  }
  return JSON.parse(text) as SenderResponse;
}
