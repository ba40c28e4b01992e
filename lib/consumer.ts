/**
 * The consumer runtime: `createConsumerHandler({ processPayload })` returns a Lambda handler that
 * accepts the sender's inline Event envelope and S3 ObjectCreated notifications, verifies the
 * bytes against what the sender recorded, runs the business function at most once per payload
 * id, and hands it exactly those bytes. Anything else is rejected with an error naming what is
 * wrong, never processed as data. The business code is the caller's own module.
 */
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describeError, isNoSuchKey } from "./aws-errors.ts";
import type { PayloadEncoding } from "./compression.ts";
import { consumerConfig, type ConsumerConfig } from "./function-config.ts";
import { idempotentProcessor, type DeliveryOutcome, type IdempotentProcessor } from "./idempotency.ts";
import { log } from "./log.ts";
import { settleMissingObject } from "./missing-object.ts";
import { decodeInlineEvent, InvalidPayloadError, isInlineEvent, type PayloadFormat } from "./payload-codec.ts";
import { fromObjectMetadata, payloadIdFromKey } from "./payload-object.ts";
import { commitOf, isAwaitingCommit } from "./payload-commit.ts";
import { readVerified, removeStaleSpoolsSync, spoolDirectory, spoolVerified } from "./payload-stream.ts";
import { loadS3 } from "./s3-client.ts";
import { isS3Notification, MalformedEventError, parseS3Event, type ObjectCreatedRecord } from "./s3-event.ts";

/**
 * The errors a consumer fails an event with, by name: what reaches Lambda's failure record and
 * alarms. Exported so business code and tests can tell them apart (compare `name` where two
 * copies of the package may be bundled).
 */
export { CorruptCompressedPayloadError, DecompressedSizeMismatchError, DecompressionBombError, TrailingCompressedBytesError } from "./compression.ts";
export { ConfigurationError } from "./env.ts";
export { IdempotencyStoreError, PayloadIdConflictError, PayloadInProgressError } from "./idempotency.ts";
export { InvalidPayloadError, type PayloadFormat } from "./payload-codec.ts";
export { PayloadObjectMissingError } from "./missing-object.ts";
export { EphemeralStorageTooSmallError } from "./payload-stream.ts";
export { MalformedEventError } from "./s3-event.ts";

/** What the business function is told about the bytes it receives. */
export interface DeliveredPayload {
  /** The sender's payload id (a UUID): the same on every delivery of this payload, on both routes. */
  readonly id: string;
  readonly route: "inline" | "s3";
  /** How the payload travelled inline, when it was compressed; the bytes are always decompressed. */
  readonly encoding?: PayloadEncoding;
  readonly format: PayloadFormat;
  readonly size: number;
  /** Computed by the consumer over the bytes handed to the business function. */
  readonly sha256: string;
  /** When the sender sent it (ISO 8601). */
  readonly sentAt: string;
  /** S3 route only: where the payload object is. */
  readonly bucket?: string;
  readonly key?: string;
}

/** The business function: throwing makes Lambda retry the event (and, retries spent, record it). */
export type ProcessPayload = (bytes: Uint8Array, meta: DeliveredPayload) => Promise<void> | void;
/** The business function for payloads above `STREAM_ABOVE_BYTES`: the verified bytes, from ephemeral storage. */
export type ProcessPayloadStream = (stream: Readable, meta: DeliveredPayload) => Promise<void> | void;

export interface ConsumerHandlerOptions {
  /** Receives every payload up to `STREAM_ABOVE_BYTES` (default 16 MiB), verified. */
  readonly processPayload: ProcessPayload;
  /**
   * Receives payloads above `STREAM_ABOVE_BYTES` as a stream over the verified bytes, spooled to
   * the function's ephemeral storage, so memory stays flat whatever the size. The file is removed
   * when this returns.
   * @default - the bytes are read into memory and handed to `processPayload`
   */
  readonly processPayloadStream?: ProcessPayloadStream;
  /**
   * Where the configuration variables (the contract's `ENV`) are read from, once, when the
   * handler is created.
   * @default process.env
   */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/** The part of the Lambda context the consumer uses. */
export interface ConsumerContext {
  getRemainingTimeInMillis(): number;
}

/**
 * What one invocation did with its payloads: the ids it processed and the ids it absorbed as
 * repeated deliveries (the idempotency store recorded them as processed). Lambda ignores it for
 * asynchronous events; `npm run redrive`, which invokes synchronously, counts with it.
 */
export interface ConsumerResult {
  readonly processed: readonly string[];
  readonly repeated: readonly string[];
}

export type ConsumerHandler = (event: unknown, context: ConsumerContext) => Promise<ConsumerResult>;

/**
 * Several records of one S3 event failed. Its message names each record with its own error's
 * name, and `errors` holds those errors. (S3 sends one record per event, and a one-record failure
 * is rethrown as it is, so Lambda and the failure record show the real error's name.)
 */
export class RecordsFailedError extends AggregateError {
  override readonly name = "RecordsFailedError";
}

/** `createConsumerHandler` was called with options it cannot use; the message names the option. */
export class InvalidConsumerOptionsError extends Error {
  override readonly name = "InvalidConsumerOptionsError";
}

const OPTION_NAMES: readonly string[] = ["processPayload", "processPayloadStream", "environment"] satisfies (keyof ConsumerHandlerOptions)[];

/**
 * Creates the consumer's Lambda handler. Call it once, at module level, so a missing or bad
 * environment variable fails the function's init with a message naming the variable:
 *
 * ```ts
 * export const handler = createConsumerHandler({ processPayload: async (bytes, meta) => { … } });
 * ```
 */
export function createConsumerHandler(options: ConsumerHandlerOptions): ConsumerHandler {
  const { processPayload, processPayloadStream } = validOptions(options);
  const config = consumerConfig(options.environment ?? process.env);
  const idempotency = idempotentProcessor({ ...config.idempotency, sdkTimeouts: config.sdkTimeouts });
  // A timed-out invocation's spool file outlives it in /tmp; the new runtime clears it at init.
  // Housekeeping only: payloads that need no spool must not fail because /tmp misbehaves (a spool
  // clears stale files again, and fails by name, when it needs the space).
  try {
    removeStaleSpoolsSync(spoolDirectory());
  } catch (err) {
    log("warn", "could not remove stale spool files at init", { directory: spoolDirectory(), error: describeError(err) });
  }
  const business: Business = {
    processPayload,
    processPayloadStream: processPayloadStream ?? (async (stream, meta) => processPayload(await buffer(stream), meta)),
  };
  return (event, context) => handle({ config, idempotency, business }, event, context);
}

function validOptions(options: ConsumerHandlerOptions): ConsumerHandlerOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidConsumerOptionsError(`createConsumerHandler needs an options object with processPayload; got ${options === null ? "null" : typeof options}`);
  }
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length > 0) {
    throw new InvalidConsumerOptionsError(`Unknown option${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} for createConsumerHandler; known: ${OPTION_NAMES.join(", ")}`);
  }
  if (typeof options.processPayload !== "function") {
    throw new InvalidConsumerOptionsError(`processPayload must be a function (bytes, meta) => Promise<void>; got ${typeof options.processPayload}`);
  }
  if (options.processPayloadStream !== undefined && typeof options.processPayloadStream !== "function") {
    throw new InvalidConsumerOptionsError(`processPayloadStream must be a function (stream, meta) => Promise<void> when given; got ${typeof options.processPayloadStream}`);
  }
  return options;
}

interface Business {
  readonly processPayload: ProcessPayload;
  readonly processPayloadStream: ProcessPayloadStream;
}

/** What one handler created by {@link createConsumerHandler} works with. */
interface Consumer {
  readonly config: ConsumerConfig;
  readonly idempotency: IdempotentProcessor;
  readonly business: Business;
}

async function handle(consumer: Consumer, event: unknown, context: ConsumerContext): Promise<ConsumerResult> {
  const { config, business } = consumer;
  const result = { processed: [] as string[], repeated: [] as string[] };
  const note = (id: string, outcome: DeliveryOutcome) => result[outcome].push(id);
  if (isInlineEvent(event)) {
    const { meta, bytes, encoding } = decodeInlineEvent(event);
    const delivered: DeliveredPayload = { ...meta, route: "inline", ...(encoding !== undefined && { encoding }) };
    note(meta.id, await processOnce(consumer, delivered, context, async () => business.processPayload(bytes, delivered)));
    return result;
  }
  if (!isS3Notification(event)) {
    throw new MalformedEventError(
      `Event is neither an inline payload envelope nor an S3 notification (Records[].eventSource "aws:s3"); top-level keys: ${describeKeys(event)}`,
    );
  }
  const parsed = parseS3Event(event);
  if (parsed.kind === "test-event") {
    log("info", "ignoring s3:TestEvent", { bucket: parsed.bucket });
    return result;
  }
  // Refuse the whole event before touching any object: a foreign bucket means a wiring mistake.
  for (const r of parsed.records) {
    if (r.bucket !== config.bucket || !r.key.startsWith(config.prefix)) {
      throw new MalformedEventError(
        `Refusing s3://${r.bucket}/${r.key}: this consumer only reads s3://${config.bucket}/${config.prefix}*`,
      );
    }
  }
  const failures: { where: string; error: unknown }[] = [];
  for (const record of parsed.records) {
    try {
      const done = await consumeObject(consumer, record, context);
      if (done) note(done.id, done.outcome);
    } catch (err) {
      log("error", "payload object rejected", { bucket: record.bucket, key: record.key, error: describeError(err) });
      failures.push({ where: `s3://${record.bucket}/${record.key}`, error: err });
    }
  }
  // Throwing makes Lambda retry the event; records that already succeeded were deleted and will
  // be absorbed as repeated deliveries.
  if (failures.length === 1 && parsed.records.length === 1) throw failures[0]!.error;
  if (failures.length > 0) {
    const names = [...new Set(failures.map((f) => errorName(f.error)))].join(", ");
    throw new RecordsFailedError(
      failures.map((f) => f.error),
      `${failures.length} of ${parsed.records.length} records failed (${names}): ${failures.map((f) => `${f.where}: ${describeError(f.error)}`).join("; ")}`,
    );
  }
  return result;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** The payload an S3 record delivered and what became of it; undefined for a record that delivers none. */
type ObjectOutcome = { readonly id: string; readonly outcome: DeliveryOutcome } | undefined;

async function consumeObject(consumer: Consumer, record: ObjectCreatedRecord, context: ConsumerContext): Promise<ObjectOutcome> {
  const { config, business } = consumer;
  const { sdk, client } = await loadS3(config.sdkTimeouts);
  const where = `s3://${record.bucket}/${record.key}`;
  let object;
  try {
    object = await client.send(new sdk.GetObjectCommand({ Bucket: record.bucket, Key: record.key }));
  } catch (err) {
    if (!isNoSuchKey(err)) throw err;
    // Gone is "processed before" only on the idempotency store's word.
    const id = await settleMissingObject(consumer.idempotency, { bucket: record.bucket, key: record.key, payloadId: payloadIdFromKey(record.key), what: "payload object" });
    return { id, outcome: "repeated" };
  }
  if (isAwaitingCommit(object.Metadata)) {
    // A multipart payload's record arrives with its commit object, which triggers its own event.
    discard(object.Body);
    log("info", "payload object awaits its commit; it is processed when the commit arrives", { bucket: record.bucket, key: record.key });
    return undefined;
  }
  const commit = commitOf(object.Metadata, record.key, where);
  const meta = commit ? commit.meta : fromObjectMetadata(object.Metadata, where);
  let key = record.key;
  const deleteCommit = async () => {
    if (commit && config.deleteAfterProcessing) await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: record.key }));
  };
  if (commit) {
    discard(object.Body);
    key = commit.objectKey;
    try {
      object = await client.send(new sdk.GetObjectCommand({ Bucket: record.bucket, Key: key }));
    } catch (err) {
      if (!isNoSuchKey(err)) throw err;
      // Processed before and the commit's own delete did not happen, or the data never came: the
      // store tells which, and only a processed payload's commit is removed.
      await settleMissingObject(consumer.idempotency, { bucket: record.bucket, key, payloadId: meta.id, what: `data object of the commit ${where}` });
      await deleteCommit();
      return { id: meta.id, outcome: "repeated" };
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
  let outcome: DeliveryOutcome;
  if (meta.size <= config.streamAboveBytes) {
    const { bytes, sha256 } = await readVerified(body, meta, source);
    const verified = { ...delivered, sha256 };
    outcome = await processOnce(consumer, verified, context, async () => business.processPayload(bytes, verified));
  } else {
    const spooled = await spoolVerified(body, meta, source, spoolDirectory());
    try {
      const verified = { ...delivered, sha256: spooled.sha256 };
      outcome = await processOnce(consumer, verified, context, async () => business.processPayloadStream(spooled.open(), verified));
    } finally {
      await spooled.remove();
    }
  }
  if (config.deleteAfterProcessing) await client.send(new sdk.DeleteObjectCommand({ Bucket: record.bucket, Key: key }));
  await deleteCommit();
  return { id: meta.id, outcome };
}

/** Closes a body that will not be read, so its connection is released. */
function discard(body: unknown): void {
  (body as { destroy?: () => void } | undefined)?.destroy?.();
}

/** The business function at most once per payload id; a repeat is logged, not processed. */
async function processOnce(consumer: Consumer, delivered: DeliveredPayload, context: ConsumerContext, process: () => Promise<void>): Promise<DeliveryOutcome> {
  const outcome = await consumer.idempotency.run(delivered, context.getRemainingTimeInMillis(), process);
  if (outcome === "repeated") {
    log("info", "repeated delivery absorbed: payload already processed", {
      id: delivered.id,
      route: delivered.route,
      sha256: delivered.sha256,
      ...(delivered.key === undefined ? {} : { bucket: delivered.bucket, key: delivered.key }),
    });
  }
  return outcome;
}

function describeKeys(event: unknown): string {
  if (typeof event !== "object" || event === null) return `(none: the event is ${event === null ? "null" : typeof event})`;
  const keys = Object.keys(event).slice(0, 10);
  return keys.length === 0 ? "(none)" : keys.join(", ");
}
