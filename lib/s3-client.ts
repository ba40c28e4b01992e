/**
 * The S3 SDK, loaded on first use only, because most payloads go inline. In a single-file
 * bundle this defers the S3 client's evaluation, not its parsing: bench/cold-start.ts measures
 * what that saves (little, next to the SDK core the Lambda client needs anyway).
 */
type S3Sdk = typeof import("@aws-sdk/client-s3");

let loading: Promise<{ sdk: S3Sdk; client: InstanceType<S3Sdk["S3Client"]> }> | undefined;

export function loadS3() {
  loading ??= import("@aws-sdk/client-s3").then((sdk) => ({ sdk, client: new sdk.S3Client({}) }));
  return loading;
}
