/**
 * The S3 event notification shape: parsing what S3 sends the consumer, and encoding keys the
 * way S3 does so the local runtime can send exactly what AWS would.
 */

/** One object-created record, with the key already decoded to the real object key. */
export interface ObjectCreatedRecord {
  readonly eventName: string;
  readonly bucket: string;
  readonly key: string;
  /** Size S3 reported in the notification, when present. */
  readonly size: number | undefined;
}

export type ParsedS3Event =
  | { readonly kind: "test-event"; readonly bucket: string | undefined }
  | { readonly kind: "records"; readonly records: readonly ObjectCreatedRecord[] };

export class MalformedEventError extends Error {
  override readonly name = "MalformedEventError";
}

/**
 * Keys in notifications are form-URL-encoded: a space arrives as `+` and a literal `+` as `%2B`.
 * Observed S3 behaviour leaves `/` as is; decoding does not depend on that.
 */
export function decodeS3EventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch {
    throw new MalformedEventError(`s3.object.key is not valid form-URL-encoding: ${JSON.stringify(encoded)}`);
  }
}

/** The inverse of {@link decodeS3EventKey}, matching what S3 puts in `s3.object.key`. */
export function encodeS3EventKey(key: string): string {
  return key
    .split("/")
    .map((part) =>
      encodeURIComponent(part)
        // encodeURIComponent leaves these alone; form encoding escapes them.
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, "+"),
    )
    .join("/");
}

/** True when the event looks like an S3 notification (records from `aws:s3`, or a test event). */
export function isS3Notification(event: unknown): boolean {
  if (!isObject(event)) return false;
  if (event.Event === "s3:TestEvent") return true;
  const records = event.Records;
  return Array.isArray(records) && records.length > 0 && isObject(records[0]) && records[0].eventSource === "aws:s3";
}

/** Validates every record up front, so a malformed event is never partly processed. */
export function parseS3Event(event: unknown): ParsedS3Event {
  if (!isObject(event)) throw new MalformedEventError("S3 event is not a JSON object");
  if (event.Event === "s3:TestEvent") {
    return { kind: "test-event", bucket: typeof event.Bucket === "string" ? event.Bucket : undefined };
  }
  const records = event.Records;
  if (!Array.isArray(records) || records.length === 0) {
    throw new MalformedEventError("S3 event has no Records array (and is not an s3:TestEvent)");
  }
  return { kind: "records", records: records.map(parseRecord) };
}

function parseRecord(record: unknown, i: number): ObjectCreatedRecord {
  const where = `Records[${i}]`;
  if (!isObject(record)) throw new MalformedEventError(`${where} is not an object`);
  if (record.eventSource !== "aws:s3") {
    throw new MalformedEventError(`${where}.eventSource is ${JSON.stringify(record.eventSource)}, expected "aws:s3"`);
  }
  const eventName = record.eventName;
  if (typeof eventName !== "string" || !eventName.startsWith("ObjectCreated:")) {
    throw new MalformedEventError(`${where}.eventName is ${JSON.stringify(eventName)}, expected ObjectCreated:*`);
  }
  const s3 = record.s3;
  if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) {
    throw new MalformedEventError(`${where}.s3 must hold bucket and object`);
  }
  const bucket = s3.bucket.name;
  const key = s3.object.key;
  const size = s3.object.size;
  if (typeof bucket !== "string" || bucket === "") throw new MalformedEventError(`${where}.s3.bucket.name is missing`);
  if (typeof key !== "string" || key === "") throw new MalformedEventError(`${where}.s3.object.key is missing`);
  if (size !== undefined && (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)) {
    throw new MalformedEventError(`${where}.s3.object.size is ${JSON.stringify(size)}, expected a non-negative integer`);
  }
  return { eventName, bucket, key: decodeS3EventKey(key), size };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
