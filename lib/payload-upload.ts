/**
 * Multipart upload of one payload, for payloads larger than one part or of unknown length. The
 * bytes stream through a sha256 as they go up, so the producer never holds more than lib-storage's
 * window (queueSize × partSize) of them; the record the consumer verifies against is written
 * afterwards, as a commit object (lib/contract.ts, MULTIPART_METADATA).
 */
import { createHash } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { COMMIT_KEY_SUFFIX, MULTIPART_METADATA, OBJECT_METADATA } from "./contract.ts";
import type { PayloadMeta } from "./payload-codec.ts";
import { contentType, toObjectMetadata } from "./payload-object.ts";
import { loadS3 } from "./s3-client.ts";

export interface UploadProgress {
  /** Payload bytes uploaded so far. */
  readonly loaded: number;
  /** Payload bytes in all, when known (bytes, or a stream with `contentLength`). */
  readonly total?: number;
}

export interface MultipartSettings {
  readonly partSize: number;
  readonly queueSize: number;
  /** false: any failure aborts the multipart upload, so no parts are left behind to pay for. */
  readonly leavePartsOnError: boolean;
  readonly contentLength?: number;
  readonly abortSignal?: AbortSignal;
  readonly onProgress?: (progress: UploadProgress) => void;
}

/** The upload failed or was aborted; nothing was committed, so the consumer is never handed it. */
export class PayloadUploadError extends Error {
  override readonly name = "PayloadUploadError";
  readonly bucket: string;
  readonly key: string;

  constructor(
    message: string,
    bucket: string,
    key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.bucket = bucket;
    this.key = key;
  }
}

export interface MultipartOutcome {
  readonly meta: PayloadMeta;
  readonly commitKey: string;
}

/**
 * Counts and hashes what passes through, so one pass over the bytes gives the record. (Not
 * `size`: lib-storage reads a body's `size` as its total length.)
 */
class Digest extends Transform {
  readonly hash = createHash("sha256");
  bytesSeen = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytesSeen += chunk.length;
    callback(null, chunk);
  }
}

export async function uploadMultipart(
  s3: S3Client | undefined,
  bucket: string,
  key: string,
  body: AsyncIterable<Uint8Array>,
  head: Pick<PayloadMeta, "id" | "format" | "sentAt">,
  settings: MultipartSettings,
): Promise<MultipartOutcome> {
  const [{ Upload }, { sdk, client: own }] = await Promise.all([import("@aws-sdk/lib-storage"), loadS3()]);
  const client = s3 ?? own;
  const digest = new Digest();
  const source = Readable.from(body, { objectMode: false });
  // pipe() does not forward errors; a failing source must fail the upload, not stall it.
  source.on("error", (error) => digest.destroy(error));
  source.pipe(digest);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  settings.abortSignal?.addEventListener("abort", onAbort, { once: true });
  if (settings.abortSignal?.aborted) controller.abort();
  const upload = new Upload({
    client,
    partSize: settings.partSize,
    queueSize: settings.queueSize,
    leavePartsOnError: settings.leavePartsOnError,
    abortController: controller,
    params: {
      Bucket: bucket,
      Key: key,
      Body: digest,
      ContentType: contentType(head),
      // The complete record goes on the commit object; until then the consumer leaves this alone.
      Metadata: { [OBJECT_METADATA.id]: head.id, [MULTIPART_METADATA.awaitingCommit]: "true" },
    },
  });
  upload.on("httpUploadProgress", (p) => {
    settings.onProgress?.({ loaded: p.loaded ?? 0, ...(settings.contentLength !== undefined && { total: settings.contentLength }) });
  });
  try {
    await upload.done();
  } catch (error) {
    source.destroy();
    const why = controller.signal.aborted ? "was aborted" : `failed: ${(error as Error).name}: ${(error as Error).message}`;
    throw new PayloadUploadError(`Multipart upload of s3://${bucket}/${key} ${why}`, bucket, key, { cause: error });
  } finally {
    settings.abortSignal?.removeEventListener("abort", onAbort);
  }
  const meta: PayloadMeta = { ...head, size: digest.bytesSeen, sha256: digest.hash.digest("hex") };
  if (settings.contentLength !== undefined && settings.contentLength !== meta.size) {
    throw new PayloadUploadError(
      `The stream gave ${meta.size} bytes; contentLength said ${settings.contentLength}. s3://${bucket}/${key} is left uncommitted`,
      bucket,
      key,
    );
  }
  const commitKey = `${key}${COMMIT_KEY_SUFFIX}`;
  await client.send(
    new sdk.PutObjectCommand({
      Bucket: bucket,
      Key: commitKey,
      Body: new Uint8Array(),
      ContentLength: 0,
      Metadata: { ...toObjectMetadata(meta), [MULTIPART_METADATA.objectKey]: key },
    }),
  );
  return { meta, commitKey };
}
