/**
 * The business function: the one place that does something with a payload. Replace the body of
 * `processPayload` with your own work; throwing makes Lambda retry and, when retries are spent,
 * sends the event to the failure queue (the payload object stays in the bucket).
 */
import type { Readable } from "node:stream";
import type { PayloadEncoding } from "../lib/compression.ts";
import { log } from "../lib/log.ts";
import type { PayloadFormat } from "../lib/payload-codec.ts";

export interface DeliveredPayload {
  readonly id: string;
  readonly route: "inline" | "s3";
  /** How the payload travelled inline, when it was compressed; `bytes` are always decompressed. */
  readonly encoding?: PayloadEncoding;
  readonly format: PayloadFormat;
  readonly size: number;
  /** Computed by the consumer over the bytes handed to the business function. */
  readonly sha256: string;
  readonly sentAt: string;
  readonly bucket?: string;
  readonly key?: string;
}

export async function processPayload(bytes: Uint8Array, meta: DeliveredPayload): Promise<void> {
  log("info", "payload received", {
    id: meta.id,
    route: meta.route,
    ...(meta.encoding !== undefined && { encoding: meta.encoding }),
    format: meta.format,
    size: bytes.length,
    sha256: meta.sha256,
    latencyMs: Date.now() - Date.parse(meta.sentAt),
    ...(meta.key === undefined ? {} : { bucket: meta.bucket, key: meta.key }),
  });
}

/**
 * The business function for payloads above the consumer's STREAM_ABOVE_BYTES (default 16 MiB):
 * `stream` gives the bytes, already verified against the sender's size and sha256, from the
 * function's ephemeral storage, so memory stays bounded whatever the size. Read it at your pace;
 * the file is removed when this returns.
 */
export async function processPayloadStream(stream: Readable, meta: DeliveredPayload): Promise<void> {
  let size = 0;
  for await (const chunk of stream) size += (chunk as Buffer).length;
  log("info", "payload received", {
    id: meta.id,
    route: meta.route,
    format: meta.format,
    size,
    sha256: meta.sha256,
    streamed: true,
    latencyMs: Date.now() - Date.parse(meta.sentAt),
    ...(meta.key === undefined ? {} : { bucket: meta.bucket, key: meta.key }),
  });
}
