/**
 * AsynchronousFunction: accepts the sender's inline Event envelope and S3 ObjectCreated
 * notifications, verifies the bytes against what the sender recorded, and hands them to
 * `processPayload`. Anything else is rejected with an error naming what is wrong, never
 * processed as data.
 */
import { describeError, isNoSuchKey } from "../lib/aws-errors";
import { consumerConfig } from "../lib/function-config";
import { idempotentProcessor } from "../lib/idempotency";
import { log } from "../lib/log";
import { decodeInlineEvent, InvalidPayloadError, isInlineEvent, verify } from "../lib/payload-codec";
import { fromObjectMetadata } from "../lib/payload-object";
import { loadS3 } from "../lib/s3-client";
import { isS3Notification, MalformedEventError, parseS3Event, type ObjectCreatedRecord } from "../lib/s3-event";
import { processPayload, type DeliveredPayload } from "./process-payload";

const config = consumerConfig(process.env);
const idempotency = idempotentProcessor({ ...config.idempotency, sdkTimeouts: config.sdkTimeouts });

/** The part of the Lambda context the consumer uses. */
interface Context {
  getRemainingTimeInMillis(): number;
}

export async function handler(event: unknown, context: Context): Promise<void> {
  if (isInlineEvent(event)) {
    const { meta, bytes, encoding } = decodeInlineEvent(event);
    await processOnce(bytes, { ...meta, route: "inline", ...(encoding !== undefined && { encoding }) }, context);
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
  const meta = fromObjectMetadata(object.Metadata, where);
  if (record.size !== undefined && record.size !== meta.size) {
    throw new InvalidPayloadError(`${where} is ${record.size} bytes in the notification; the sender recorded ${meta.size}`);
  }
  if (!object.Body) throw new InvalidPayloadError(`${where} has no body`);
  const bytes = await object.Body.transformToByteArray();
  const sha256 = verify(meta, bytes, where);
  await processOnce(bytes, { ...meta, sha256, route: "s3", bucket: record.bucket, key: record.key }, context);
  if (config.deleteAfterProcessing) {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: record.key }));
  }
}

/** `processPayload` at most once per payload id; a repeat is logged, not processed. */
async function processOnce(bytes: Uint8Array, delivered: DeliveredPayload, context: Context): Promise<void> {
  const outcome = await idempotency.run(delivered, context.getRemainingTimeInMillis(), () => processPayload(bytes, delivered));
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
