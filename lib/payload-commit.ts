/**
 * Multipart payloads are handed to the consumer by a commit object (lib/contract.ts,
 * MULTIPART_METADATA): what the consumer reads from the metadata of the objects it is notified of.
 */
import { COMMIT_KEY_SUFFIX, MULTIPART_METADATA } from "./contract.ts";
import { InvalidPayloadError, type PayloadMeta } from "./payload-codec.ts";
import { fromObjectMetadata } from "./payload-object.ts";

type Metadata = Record<string, string> | undefined;

/** A multipart data object whose commit has not been written (or never will be). */
export function isAwaitingCommit(metadata: Metadata): boolean {
  return metadata?.[MULTIPART_METADATA.awaitingCommit] === "true";
}

/**
 * The record and data key a commit object carries, or undefined for an ordinary payload object.
 * A commit may only name the object whose key it extends, so it cannot point the consumer at an
 * object outside the prefix it was notified for.
 */
export function commitOf(metadata: Metadata, commitKey: string, where: string): { meta: PayloadMeta; objectKey: string } | undefined {
  const objectKey = metadata?.[MULTIPART_METADATA.objectKey];
  if (objectKey === undefined) return undefined;
  if (`${objectKey}${COMMIT_KEY_SUFFIX}` !== commitKey) {
    throw new InvalidPayloadError(`${where} commits ${JSON.stringify(objectKey)}; a commit object's key must be its object's key + "${COMMIT_KEY_SUFFIX}"`);
  }
  return { meta: fromObjectMetadata(metadata, where), objectKey };
}
