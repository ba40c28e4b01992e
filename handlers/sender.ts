/**
 * SendPayloadFunction: the event it is invoked with is the payload. Sends it inline with an
 * Event invoke when the exact request body fits the limit (compressed, if only that fits),
 * otherwise through S3, so the payload crosses the network once. A 413 from Lambda (a real limit
 * lower than configured) still ends in S3: nothing is lost.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { senderConfig } from "../lib/function-config.ts";
import { log } from "../lib/log.ts";
import { payloadFromEvent } from "../lib/payload-codec.ts";
import { sendPayload, type SendResult } from "../lib/producer.ts";
import { clientTimeoutConfig } from "../lib/sdk-timeouts.ts";

const config = senderConfig(process.env);
const lambda = new LambdaClient(clientTimeoutConfig(config.sdkTimeouts));

export type { S3Reason, SendResult } from "../lib/producer.ts";

export async function handler(event: unknown): Promise<SendResult> {
  const { bytes, format } = payloadFromEvent(event);
  const target = { consumerFunction: config.consumerFunction, bucket: config.bucket, s3KeyPrefix: config.prefix, lambdaClient: lambda, sdkTimeouts: config.sdkTimeouts };
  const result = await sendPayload(target, bytes, {
    format,
    payloadSizeThreshold: config.inlineLimitBytes,
    alwaysThroughS3: config.alwaysS3,
    compress: config.compressInline,
  });
  log("info", "payload sent", result);
  return result;
}
