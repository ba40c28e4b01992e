/**
 * The S3 SDK, loaded on first use only: most payloads go inline, and importing the S3 client
 * eagerly more than doubles a bundle's cold start (facts.md: 2.9x vs 1.2x of a bare node).
 */
type S3Sdk = typeof import("@aws-sdk/client-s3");

let loading: Promise<{ sdk: S3Sdk; client: InstanceType<S3Sdk["S3Client"]> }> | undefined;

export function loadS3() {
  loading ??= import("@aws-sdk/client-s3").then((sdk) => ({ sdk, client: new sdk.S3Client({}) }));
  return loading;
}
