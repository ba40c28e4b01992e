/**
 * The S3 SDK, loaded on first use only, because most payloads go inline. In a single-file
 * bundle this defers the S3 client's evaluation, not its parsing: bench/cold-start.ts measures
 * what that saves (little, next to the SDK core the Lambda client needs anyway).
 */
import { clientTimeoutConfig, type SdkTimeouts } from "./sdk-timeouts";

type S3Sdk = typeof import("@aws-sdk/client-s3");

let loading: Promise<{ sdk: S3Sdk; client: InstanceType<S3Sdk["S3Client"]> }> | undefined;

/** The first call's timeouts apply: a function reads its configuration once. */
export function loadS3(timeouts: SdkTimeouts) {
  loading ??= import("@aws-sdk/client-s3").then((sdk) => ({ sdk, client: new sdk.S3Client(clientTimeoutConfig(timeouts)) }));
  return loading;
}
