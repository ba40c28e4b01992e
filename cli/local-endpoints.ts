/**
 * What a CLI pointed at a local cloud's Lambda endpoint can learn from it: the local cloud
 * configures the consumer with its S3 endpoint and payload bucket, and its Lambda API reports a
 * function's configuration (GetFunctionConfiguration) as Lambda does. So `--endpoint-url` alone
 * reaches a local cloud on any ports.
 */
import { GetFunctionConfigurationCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { ENV } from "../lib/contract.ts";

export interface LocalCloudFacts {
  /** The S3 endpoint the function is configured with (AWS_ENDPOINT_URL_S3). */
  readonly s3Endpoint?: string;
  /** The payload bucket the function reads (the consumer's PAYLOAD_BUCKET). */
  readonly bucket?: string;
}

/**
 * Reads `functionName`'s configuration from the local cloud. A cloud that is not running (or an
 * endpoint that is not one) tells nothing: the caller falls back to the defaults and reports the
 * connection error when it really calls.
 */
export async function localCloudFacts(lambda: LambdaClient, functionName: string): Promise<LocalCloudFacts> {
  try {
    const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    const vars = out.Environment?.Variables ?? {};
    return {
      ...(vars.AWS_ENDPOINT_URL_S3 !== undefined && { s3Endpoint: vars.AWS_ENDPOINT_URL_S3 }),
      ...(vars[ENV.bucket] !== undefined && { bucket: vars[ENV.bucket] }),
    };
  } catch {
    return {};
  }
}
