/**
 * The business function: the one place that does something with a payload. Replace the body of
 * `processPayload` with your own work; throwing makes Lambda retry and, when retries are spent,
 * sends the event to the failure queue (the payload object stays in the bucket).
 */
import type { PayloadEncoding } from "../lib/compression";
import { log } from "../lib/log";
import type { PayloadFormat } from "../lib/payload-codec";

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
