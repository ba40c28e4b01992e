/**
 * AsynchronousFunction: accepts the sender's inline Event envelope and S3 ObjectCreated
 * notifications, verifies the bytes against what the sender recorded, and hands them to
 * `processPayload`. Anything else is rejected with an error naming what is wrong, never
 * processed as data.
 */
import { tmpdir } from "node:os";
import { describeError, isNoSuchKey } from "../lib/aws-errors.ts";
import { consumerConfig } from "../lib/function-config.ts";
import { idempotentProcessor } from "../lib/idempotency.ts";
import { log } from "../lib/log.ts";
import { decodeInlineEvent, InvalidPayloadError, isInlineEvent } from "../lib/payload-codec.ts";
import { fromObjectMetadata } from "../lib/payload-object.ts";
import { commitOf, isAwaitingCommit } from "../lib/payload-commit.ts";
import { readVerified, spoolVerified } from "../lib/payload-stream.ts";
import { loadS3 } from "../lib/s3-client.ts";
import { isS3Notification, MalformedEventError, parseS3Event, type ObjectCreatedRecord } from "../lib/s3-event.ts";
import { processPayload, processPayloadStream, type DeliveredPayload } from "./process-payload.ts";

const config = consumerConfig(process.env);
const idempotency = idempotentProcessor({ ...config.idempotency, sdkTimeouts: config.sdkTimeouts });

/** The part of the Lambda context the consumer uses. */
interface Context {
  getRemainingTimeInMillis(): number;
}

export async function handler(event: unknown, context: Context): Promise<void> {
  if (isInlineEvent(event)) {
    const { meta, bytes, encoding } = decodeInlineEvent(event);
    const delivered: DeliveredPayload = { ...meta, route: "inline", ...(encoding !== undefined && { encoding }) };
    await processOnce(delivered, context, () => processPayload(bytes, delivered));
    return;
  }
  if (!isS3Notification(event)) {
    throw new MalformedEventError(
      `Event is neither an inline payload envelope nor an S3 notification (Records[].eventSource "aws:s3"); top-level keys: ${describeKeys(event)}`,
    );
  }
  const parsed = parseS3Event(event);
  if (parsed.kind === "test-event") {
    log("info", "ignoring s3:TestEvent", { bucket: parsed.bucket });
    return;
  }
  // Refuse the whole event before touching any object: a foreign bucket means a wiring mistake.
  for (const r of parsed.records) {
    if (r.bucket !== config.bucket || !r.key.startsWith(config.prefix)) {
      throw new MalformedEventError(
        `Refusing s3://${r.bucket}/${r.key}: this consumer only reads s3://${config.bucket}/${config.prefix}*`,
      );
    }
  }
  const failures: string[] = [];
  for (const record of parsed.records) {
    try {
      await consumeObject(record, context);
    } catch (err) {
      log("error", "payload object rejected", { bucket: record.bucket, key: record.key, error: describeError(err) });
      failures.push(`s3://${record.bucket}/${record.key}: ${describeError(err)}`);
    }
  }
  // Throwing makes Lambda retry the event; records that already succeeded were deleted and will
  // be absorbed as repeated deliveries.
  if (failures.length > 0) {
    throw new InvalidPayloadError(`${failures.length} of ${parsed.records.length} records failed: ${failures.join("; ")}`);
  }
}

async function consumeObject(record: ObjectCreatedRecord, context: Context): Promise<void> {
  const { sdk, client } = await loadS3(config.sdkTimeouts);
  const where = `s3://${record.bucket}/${record.key}`;
  let object;
  try {
    object = await client.send(new sdk.GetObjectCommand({ Bucket: record.bucket, Key: record.key }));
  } catch (err) {
    if (!isNoSuchKey(err)) throw err;
    // The consumer deletes objects after processing them, and delivery is at-least-once.
    log("warn", "payload object is gone; treating this as a repeated delivery of a processed payload", {
      bucket: record.bucket,
      key: record.key,
    });
    return;
  }
  if (isAwaitingCommit(object.Metadata)) {
    // A multipart payload's record arrives with its commit object, which triggers its own event.
    discard(object.Body);
    log("info", "payload object awaits its commit; it is processed when the commit arrives", { bucket: record.bucket, key: record.key });
    return;
  }
  const commit = commitOf(object.Metadata, record.key, where);
  const meta = commit ? commit.meta : fromObjectMetadata(object.Metadata, where);
  let key = record.key;
  if (commit) {
    discard(object.Body);
    key = commit.objectKey;
    try {
      object = await client.send(new sdk.GetObjectCommand({ Bucket: record.bucket, Key: key }));
    } catch (err) {
      if (!isNoSuchKey(err)) throw err;
      // Processed before, and the commit's own delete did not happen: finish the clean-up.
      log("warn", "committed payload object is gone; treating this as a repeated delivery of a processed payload", { bucket: record.bucket, key });
      if (config.deleteAfterProcessing) await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: record.key }));
      return;
    }
    if (object.ContentLength !== undefined && object.ContentLength !== meta.size) {
      throw new InvalidPayloadError(`s3://${record.bucket}/${key} is ${object.ContentLength} bytes; the sender recorded ${meta.size}`);
    }
  } else if (record.size !== undefined && record.size !== meta.size) {
    throw new InvalidPayloadError(`${where} is ${record.size} bytes in the notification; the sender recorded ${meta.size}`);
  }
  const source = `s3://${record.bucket}/${key}`;
  if (!object.Body) throw new InvalidPayloadError(`${source} has no body`);
  const body = object.Body as AsyncIterable<Uint8Array>;
  const delivered = { ...meta, route: "s3" as const, bucket: record.bucket, key };
  if (meta.size <= config.streamAboveBytes) {
    const { bytes, sha256 } = await readVerified(body, meta, source);
    const verified = { ...delivered, sha256 };
    await processOnce(verified, context, () => processPayload(bytes, verified));
  } else {
    const spooled = await spoolVerified(body, meta, source, tmpdir());
    try {
      const verified = { ...delivered, sha256: spooled.sha256 };
      await processOnce(verified, context, () => processPayloadStream(spooled.open(), verified));
    } finally {
      await spooled.remove();
    }
  }
  if (config.deleteAfterProcessing) {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: key }));
    if (commit) await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: record.key }));
  }
}

/** Closes a body that will not be read, so its connection is released. */
function discard(body: unknown): void {
  (body as { destroy?: () => void } | undefined)?.destroy?.();
}

/** The business function at most once per payload id; a repeat is logged, not processed. */
async function processOnce(delivered: DeliveredPayload, context: Context, process: () => Promise<void>): Promise<void> {
  const outcome = await idempotency.run(delivered, context.getRemainingTimeInMillis(), process);
  if (outcome === "repeated") {
    log("info", "repeated delivery absorbed: payload already processed", {
      id: delivered.id,
      route: delivered.route,
      sha256: delivered.sha256,
      ...(delivered.key === undefined ? {} : { bucket: delivered.bucket, key: delivered.key }),
    });
  }
}

function describeKeys(event: unknown): string {
  if (typeof event !== "object" || event === null) return `(none: the event is ${event === null ? "null" : typeof event})`;
  const keys = Object.keys(event).slice(0, 10);
  return keys.length === 0 ? "(none)" : keys.join(", ");
}
