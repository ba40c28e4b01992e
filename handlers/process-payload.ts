/**
 * The reference business function: it logs what it received. A team writes its own module like
 * this one; throwing makes Lambda retry the event and, when retries are spent, write its record
 * to the failure bucket (an S3-route payload object stays in the payload bucket).
 */
import type { Readable } from "node:stream";
import { log } from "../lib/log.ts";
import type { DeliveredPayload } from "../lib/consumer.ts";

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
