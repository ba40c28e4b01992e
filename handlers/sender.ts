/**
 * SendPayloadFunction: the event it is invoked with is the payload. Sends it inline with an
 * Event invoke when the exact request body fits the limit (compressed, if only that fits),
 * otherwise through S3, so the payload crosses the network once. A 413 from Lambda (a real limit
 * lower than configured) still ends in S3: nothing is lost.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { describeError, isPayloadTooLarge } from "../lib/aws-errors";
import { senderConfig } from "../lib/function-config";
import { log } from "../lib/log";
import type { PayloadEncoding } from "../lib/compression";
import { fitInline, payloadFromEvent, sha256Hex, type PayloadFormat, type PayloadMeta } from "../lib/payload-codec";
import { payloadObjectKey } from "../lib/payload-object";
import { putPayloadObject } from "../lib/s3-client";
import { clientTimeoutConfig } from "../lib/sdk-timeouts";

const config = senderConfig(process.env);
const lambda = new LambdaClient(clientTimeoutConfig(config.sdkTimeouts));

/** Why a payload went through S3. */
export type S3Reason = "too-large" | "always-s3" | "lambda-rejected-413";

export type SendResult = {
  id: string;
  format: PayloadFormat;
  size: number;
  sha256: string;
  /** Milliseconds this function spent serializing and sending. */
  elapsedMs: number;
} & (
  /**
   * `inlineSize` is the request body sent. `encoding` and `compressedSize` (bytes before base64)
   * are present when the payload only fit compressed.
   */
  | { route: "inline"; inlineSize: number; encoding?: PayloadEncoding; compressedSize?: number }
  /** `inlineSize` is the inline event that did not fit or was refused; absent when the always-S3 switch skipped sizing. */
  | { route: "s3"; reason: S3Reason; inlineSize?: number; bucket: string; key: string }
);

export async function handler(event: unknown): Promise<SendResult> {
  const started = performance.now();
  const { bytes, format } = payloadFromEvent(event);
  const meta: PayloadMeta = { id: randomUUID(), format, size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
  const common = { id: meta.id, format, size: meta.size, sha256: meta.sha256 };
  const elapsed = () => Math.round(performance.now() - started);

  let reason: S3Reason = "always-s3";
  let inlineSize: number | undefined;
  if (!config.alwaysS3) {
    const fit = await fitInline(meta, bytes, { limitBytes: config.inlineLimitBytes, compress: config.compressInline });
    reason = "too-large";
    if (!fit.fits) {
      inlineSize = fit.inlineSize;
    } else {
      const { envelope } = fit;
      inlineSize = envelope.size;
      try {
        await lambda.send(new InvokeCommand({ FunctionName: config.consumerFunction, InvocationType: "Event", Payload: envelope.body() }));
        const compressed = "encoding" in envelope ? { encoding: envelope.encoding, compressedSize: envelope.compressedSize } : {};
        const result: SendResult = { route: "inline", ...common, inlineSize: envelope.size, ...compressed, elapsedMs: elapsed() };
        log("info", "payload sent", result);
        return result;
      } catch (err) {
        if (!isPayloadTooLarge(err)) throw err;
        reason = "lambda-rejected-413";
        log("warn", "Lambda rejected the inline event as too large; sending the payload through S3 instead", {
          id: meta.id,
          inlineSize: envelope.size,
          configuredLimit: config.inlineLimitBytes,
          error: describeError(err),
        });
      }
    }
  }

  const key = payloadObjectKey(config.prefix, meta);
  await putPayloadObject(config.bucket, key, bytes, meta, config.sdkTimeouts);
  const result: SendResult = { route: "s3", reason, ...common, ...(inlineSize !== undefined && { inlineSize }), bucket: config.bucket, key, elapsedMs: elapsed() };
  log("info", "payload sent", result);
  return result;
}
