/**
 * How a payload is stored on the S3 route: a collision-free key, and the sender's record of the
 * payload in object metadata so the consumer can verify what it reads.
 */
import { COMMIT_KEY_SUFFIX, OBJECT_METADATA } from "./contract.ts";
import { parseMeta, type PayloadMeta } from "./payload-codec.ts";

/**
 * `<prefix>YYYY/MM/DD/<id>.<ext>`: the date path lets operators list a day's leftovers, and the
 * random id keeps concurrent senders from overwriting each other (the original sample's
 * per-second timestamp keys did).
 */
export function payloadObjectKey(prefix: string, meta: Pick<PayloadMeta, "id" | "format" | "sentAt">): string {
  const day = meta.sentAt.slice(0, 10).replace(/-/g, "/");
  return `${prefix}${day}/${meta.id}.${meta.format === "json" ? "json" : "bin"}`;
}

const PAYLOAD_KEY = new RegExp(`(?:^|/)([^/]+)\\.(?:json|bin)(?:${COMMIT_KEY_SUFFIX.replace(".", "\\.")})?$`);

/**
 * The payload id a key of {@link payloadObjectKey}'s shape names (also a multipart payload's
 * commit key); undefined for any other key. What a notification alone says about its payload.
 */
export function payloadIdFromKey(key: string): string | undefined {
  return PAYLOAD_KEY.exec(key)?.[1];
}

export function contentType(meta: Pick<PayloadMeta, "format">): string {
  return meta.format === "json" ? "application/json" : "application/octet-stream";
}

/** S3 user metadata; S3 lower-cases the names, so these names are lower-case already. */
export function toObjectMetadata(meta: PayloadMeta): Record<string, string> {
  return {
    [OBJECT_METADATA.id]: meta.id,
    [OBJECT_METADATA.format]: meta.format,
    [OBJECT_METADATA.size]: String(meta.size),
    [OBJECT_METADATA.sha256]: meta.sha256,
    [OBJECT_METADATA.sentAt]: meta.sentAt,
  };
}

export function fromObjectMetadata(metadata: Record<string, string> | undefined, where: string): PayloadMeta {
  const md = metadata ?? {};
  return parseMeta(
    {
      id: md[OBJECT_METADATA.id],
      format: md[OBJECT_METADATA.format],
      size: md[OBJECT_METADATA.size],
      sha256: md[OBJECT_METADATA.sha256],
      sentAt: md[OBJECT_METADATA.sentAt],
    },
    `${where} metadata`,
  );
}
