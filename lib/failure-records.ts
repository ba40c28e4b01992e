/**
 * Lambda's records of asynchronous events that failed for good, as its S3 on-failure destination
 * stores them: where they go (the key layout), what they hold (the invocation record), and the
 * summary an operator acts on: which payload, which route, how big, what went wrong, how old.
 *
 * Source for the layout and shape: Lambda Developer Guide, "Capturing records of Lambda
 * asynchronous invocations": the bucket receives one JSON object per record, named
 * `aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>`, holding the
 * same invocation record the other destinations receive (version, timestamp, requestContext,
 * requestPayload, responseContext, responsePayload).
 */
import { COMMIT_KEY_SUFFIX, FAILURE_RECORD_PREFIX, INLINE_ENVELOPE_KEY } from "./contract.ts";
import { payloadIdFromKey } from "./payload-object.ts";
import { decodeS3EventKey } from "./s3-event.ts";

/** The invocation record Lambda writes for an event that failed every attempt or aged out. */
export interface FailureRecord {
  readonly version: string;
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetriesExhausted" | "EventAgeExceeded" | string;
    readonly approximateInvokeCount: number;
  };
  /** The event exactly as the function received it. */
  readonly requestPayload: unknown;
  readonly responseContext?: { readonly statusCode: number; readonly executedVersion: string; readonly functionError?: string };
  /** The function's error object when it ran; absent when the event aged out before a run. */
  readonly responsePayload?: unknown;
}

export class UnreadableRecordError extends Error {
  override readonly name = "UnreadableRecordError";
}

/** Keys of one function's records start with this. */
export function failureRecordPrefix(functionName: string): string {
  return `${FAILURE_RECORD_PREFIX}${functionName}/`;
}

/** The key Lambda gives a record written at `at`. */
export function failureRecordKey(functionName: string, at: Date, uuid: string): string {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  return `${failureRecordPrefix(functionName)}${day.replace(/-/g, "/")}/${day}T${iso.slice(11, 19).replace(/:/g, ".")}-${uuid}`;
}

/** The time Lambda's key layout puts in a record's key; undefined for a key of another shape. */
export function recordKeyTime(recordKey: string): Date | undefined {
  const m = /(\d{4}-\d{2}-\d{2})T(\d{2})\.(\d{2})\.(\d{2})-[^/]*$/.exec(recordKey);
  if (!m) return undefined;
  const at = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** A payload object an S3-route event points at. */
export interface PayloadObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** A multipart payload's commit object: its metadata holds the payload's record and data key. */
  readonly commit: boolean;
}

export interface FailureRecordSummary {
  /** The record object's key in the failure bucket. */
  readonly recordKey: string;
  readonly requestId: string;
  readonly timestamp: string;
  readonly ageMs: number;
  readonly condition: string;
  readonly attempts: number;
  /** `errorType: errorMessage` of the last attempt, or why no attempt ran. */
  readonly error: string;
  readonly route: "inline" | "s3" | "other";
  /** The payload id the sender assigned, when the event shows it. */
  readonly id: string | undefined;
  /**
   * Payload bytes as the sender recorded them (inline) or S3 reported them (S3 route); unknown
   * for a multipart payload, whose event reports its empty commit object (its metadata has the size).
   */
  readonly size: number | undefined;
  /** S3 route: the objects the event points at, keys decoded. */
  readonly objects: readonly PayloadObjectRef[];
  /** The event to deliver again. */
  readonly event: unknown;
}

/** Parses a record object; throws {@link UnreadableRecordError} naming what is wrong. */
export function summarizeFailureRecord(recordKey: string, text: string, now: Date = new Date()): FailureRecordSummary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UnreadableRecordError(`${recordKey} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new UnreadableRecordError(`${recordKey} is not a JSON object`);
  const context = parsed.requestContext;
  if (!isObject(context)) throw new UnreadableRecordError(`${recordKey} has no requestContext object`);
  if (!("requestPayload" in parsed)) throw new UnreadableRecordError(`${recordKey} has no requestPayload`);
  const timestamp = typeof parsed.timestamp === "string" ? parsed.timestamp : "";
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) throw new UnreadableRecordError(`${recordKey} has timestamp ${JSON.stringify(parsed.timestamp)}, expected an ISO-8601 time`);
  const condition = typeof context.condition === "string" ? context.condition : "unknown";
  const event = parsed.requestPayload;
  return {
    recordKey,
    requestId: typeof context.requestId === "string" ? context.requestId : "",
    timestamp,
    ageMs: Math.max(0, now.getTime() - at),
    condition,
    attempts: typeof context.approximateInvokeCount === "number" ? context.approximateInvokeCount : 0,
    error: describeFailure(parsed.responsePayload, condition),
    ...describeEvent(event),
    event,
  };
}

function describeFailure(response: unknown, condition: string): string {
  if (isObject(response) && (typeof response.errorType === "string" || typeof response.errorMessage === "string")) {
    return `${String(response.errorType ?? "Error")}: ${String(response.errorMessage ?? "")}`;
  }
  return condition === "EventAgeExceeded" ? "EventAgeExceeded: the event aged out before it could run again" : condition;
}

function describeEvent(event: unknown): Pick<FailureRecordSummary, "route" | "id" | "size" | "objects"> {
  if (isObject(event) && isObject(event[INLINE_ENVELOPE_KEY])) {
    const meta = event[INLINE_ENVELOPE_KEY];
    return {
      route: "inline",
      id: typeof meta.id === "string" ? meta.id : undefined,
      size: typeof meta.size === "number" ? meta.size : undefined,
      objects: [],
    };
  }
  const records = isObject(event) && Array.isArray(event.Records) ? event.Records : undefined;
  if (records && records.length > 0 && records.every((r) => isObject(r) && r.eventSource === "aws:s3")) {
    const objects: PayloadObjectRef[] = [];
    let size: number | undefined = 0;
    for (const r of records as Record<string, unknown>[]) {
      const s3 = isObject(r.s3) ? r.s3 : {};
      const bucket = isObject(s3.bucket) && typeof s3.bucket.name === "string" ? s3.bucket.name : "";
      const rawKey = isObject(s3.object) && typeof s3.object.key === "string" ? s3.object.key : "";
      let key = rawKey;
      try {
        key = decodeS3EventKey(rawKey);
      } catch {
        // listed as it came; the consumer will name the bad encoding if it is replayed
      }
      const commit = key.endsWith(COMMIT_KEY_SUFFIX);
      objects.push({ bucket, key, commit });
      if (commit) size = undefined;
      else if (size !== undefined && isObject(s3.object) && typeof s3.object.size === "number") size += s3.object.size;
    }
    // The sender names objects `<prefix>YYYY/MM/DD/<id>.json|.bin` (+ ".commit" for a commit).
    const ids = objects.map((o) => payloadIdFromKey(o.key)).filter((x): x is string => x !== undefined);
    return { route: "s3", id: ids.length > 0 ? ids.join(",") : undefined, size, objects };
  }
  return { route: "other", id: undefined, size: undefined, objects: [] };
}

/** `45s`, `12m`, `3h 5m`, `2d 4h`: ages as an operator reads them. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** Parses `90s`, `15m`, `2h`, `3d` (or a plain number of seconds) into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit * 1000;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
