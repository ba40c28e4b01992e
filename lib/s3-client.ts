/**
 * The S3 SDK, loaded on first use only, because most payloads go inline. In a single-file
 * bundle this defers the S3 client's evaluation, not its parsing: bench/run.ts measures
 * what that saves (little, next to the SDK core the Lambda client needs anyway).
 */
import { contentType, toObjectMetadata } from "./payload-object.ts";
import type { PayloadMeta } from "./payload-codec.ts";
import { clientTimeoutConfig, type SdkTimeouts } from "./sdk-timeouts.ts";

type S3Sdk = typeof import("@aws-sdk/client-s3");
type S3Client = InstanceType<S3Sdk["S3Client"]>;

let loading: Promise<{ sdk: S3Sdk; client: InstanceType<S3Sdk["S3Client"]> }> | undefined;

/**
 * The first call's timeouts apply: a function reads its configuration once. Without timeouts the
 * client keeps the SDK's (producers outside Lambda, such as `npm run invoke` uploading a large file
 * over a slow link, must not have a part cut off after a function's few seconds).
 */
export function loadS3(timeouts?: SdkTimeouts) {
  // The consumer checks every object's sha256 against the sender's record itself; the SDK's own
  // response checksum validation would hash each body a second time.
  loading ??= import("@aws-sdk/client-s3").then((sdk) => ({
    sdk,
    client: new sdk.S3Client({ ...(timeouts && clientTimeoutConfig(timeouts)), responseChecksumValidation: "WHEN_REQUIRED" }),
  }));
  return loading;
}

/**
 * Stores the payload bytes as they are, with the sender's record as metadata. The sha256 the
 * sender already computed goes to S3 twice: as the object's SHA-256 checksum (S3 verifies it, and
 * the SDK then skips its own CRC32) and as the signed payload hash (so request signing does not
 * hash the body again). One hash of the payload in all.
 */
export async function putPayloadObject(bucket: string, key: string, bytes: Uint8Array, meta: PayloadMeta, s3?: S3Client): Promise<void> {
  const { sdk, client: own } = await loadS3();
  const client = s3 ?? own;
  const command = new sdk.PutObjectCommand({
    Bucket: bucket,
    Key: key,
    Body: bytes,
    ContentLength: bytes.length,
    ContentType: contentType(meta),
    Metadata: toObjectMetadata(meta),
    ChecksumAlgorithm: "SHA256",
    ChecksumSHA256: Buffer.from(meta.sha256, "hex").toString("base64"),
  });
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["x-amz-content-sha256"] = meta.sha256;
      return next(args);
    },
    { step: "build", name: "payloadSha256AsSignedPayloadHash" },
  );
  await client.send(command);
}
