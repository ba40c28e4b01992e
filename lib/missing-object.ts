/**
 * A payload object that is gone proves nothing about its payload: the consumer deletes objects
 * after processing them, but a lifecycle rule, an operator or a producer that never finished can
 * remove one too. Only the idempotency store knows whether the payload was processed, so a gone
 * object is a repeated delivery when the store records its payload id as COMPLETED, and otherwise
 * a {@link PayloadObjectMissingError}: the invocation fails, Lambda retries it, and the event ends
 * as a failure record an operator can see.
 */
import type { IdempotentProcessor, PayloadStatus } from "./idempotency.ts";
import { log } from "./log.ts";

/** The payload's object is gone and the idempotency store does not record the payload as processed. */
export class PayloadObjectMissingError extends Error {
  override readonly name = "PayloadObjectMissingError";
  readonly bucket: string;
  readonly key: string;
  /** undefined when the key names no payload id. */
  readonly payloadId: string | undefined;
  /** What the store said; undefined when it could not be asked. */
  readonly status: PayloadStatus | undefined;

  constructor(
    message: string,
    bucket: string,
    key: string,
    payloadId: string | undefined,
    status: PayloadStatus | undefined,
  ) {
    super(message);
    this.bucket = bucket;
    this.key = key;
    this.payloadId = payloadId;
    this.status = status;
  }
}

export interface MissingObject {
  readonly bucket: string;
  readonly key: string;
  /** The payload id, from the key or from a commit object; undefined when nothing names it. */
  readonly payloadId: string | undefined;
  /** What the object is, for messages: "payload object", "data object of the commit …". */
  readonly what: string;
}

/**
 * Resolves when the store records the payload as processed (a repeated delivery, logged as a
 * warning); throws {@link PayloadObjectMissingError} otherwise, and the store's own error when it
 * cannot be read.
 */
export async function settleMissingObject(store: Pick<IdempotentProcessor, "status">, missing: MissingObject): Promise<string> {
  const where = `s3://${missing.bucket}/${missing.key}`;
  if (missing.payloadId === undefined) {
    throw new PayloadObjectMissingError(
      `The ${missing.what} ${where} is gone and its key names no payload id, so the idempotency store cannot say whether it was processed`,
      missing.bucket,
      missing.key,
      undefined,
      undefined,
    );
  }
  const status = await store.status(missing.payloadId);
  if (status === "COMPLETED") {
    log("warn", "payload object is gone and the idempotency store records its payload as processed: repeated delivery", {
      id: missing.payloadId,
      bucket: missing.bucket,
      key: missing.key,
    });
    return missing.payloadId;
  }
  throw new PayloadObjectMissingError(
    `The ${missing.what} ${where} is gone and payload ${missing.payloadId} is not recorded as processed (idempotency status ${status}): ` +
      "it was deleted or expired before it was processed, or never written",
    missing.bucket,
    missing.key,
    missing.payloadId,
    status,
  );
}
