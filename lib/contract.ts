/**
 * The one source of truth shared by the handlers, the cdktf stack and the local runtime:
 * function names, environment variable names, the inline size limit, the payload prefix and
 * the notification filter. Nothing here may import the AWS SDK or cdktf, because it is
 * bundled into both Lambda functions.
 */

/** Default function names; kept from the original sample so its README commands still work. */
export const DEFAULT_SENDER_NAME = "SendPayloadFunction";
export const DEFAULT_CONSUMER_NAME = "AsynchronousFunction";

/**
 * Largest request body Lambda accepts for `InvocationType: "Event"` (1 MiB since Oct 2025;
 * it was 262,144 before). Configurable because some accounts or users pin the old value.
 */
export const EVENT_PAYLOAD_LIMIT_BYTES = 1_048_576;

/** Largest request body Lambda accepts for `RequestResponse`. */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6_291_456;

/**
 * Largest payload the sender compresses to keep it inline, and so the most a consumer will
 * decompress one inline event into: a forged envelope cannot make it allocate more. Above every
 * event the sender can be invoked with (6 MiB), with room for a library holding larger payloads.
 */
export const COMPRESSED_PAYLOAD_MAX_BYTES = 16_777_216;

/** Key prefix for payload objects; the notification filter and the IAM resources use it too. */
export const DEFAULT_PAYLOAD_PREFIX = "payloads/";

/**
 * Where Lambda writes the record of an asynchronous event that failed for good when the
 * on-failure destination is an S3 bucket: a fixed prefix, not configurable, followed by
 * `<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>` (Lambda Developer Guide, "Capturing
 * records of Lambda asynchronous invocations"). The local cloud writes the same keys.
 */
export const FAILURE_RECORD_PREFIX = "aws/lambda/async/";

/** Events the bucket notification subscribes the consumer to. */
export const NOTIFICATION_EVENTS = ["s3:ObjectCreated:*"] as const;

/** Environment variable names, read by the handlers and written by the stack and local runtime. */
export const ENV = {
  /** Bucket that carries payloads too large to go inline. Sender and consumer. */
  bucket: "PAYLOAD_BUCKET",
  /** Key prefix for payload objects. Sender and consumer. */
  prefix: "PAYLOAD_PREFIX",
  /** Name or ARN of the consumer function. Sender only. */
  consumerFunction: "CONSUMER_FUNCTION_NAME",
  /** Largest inline Event request body in bytes. Sender only. */
  inlineLimit: "INLINE_LIMIT_BYTES",
  /** "true" sends every payload through S3. Sender only. */
  alwaysS3: "ALWAYS_S3",
  /** "false" never compresses; otherwise payloads that only fit compressed go inline compressed. Sender only. */
  compressInline: "COMPRESS_INLINE",
  /** "false" keeps payload objects after successful processing. Consumer only. */
  deleteAfterProcessing: "DELETE_AFTER_PROCESSING",
  /** DynamoDB table of idempotency records. Consumer only. */
  idempotencyTable: "IDEMPOTENCY_TABLE",
  /** How long a processed payload id is remembered, in seconds. Consumer only. */
  idempotencyExpiresAfterSeconds: "IDEMPOTENCY_EXPIRES_AFTER_SECONDS",
  /** Milliseconds an SDK client waits for a TCP/TLS connection. Sender and consumer. */
  sdkConnectionTimeoutMs: "SDK_CONNECTION_TIMEOUT_MS",
  /** Milliseconds one SDK attempt (request and response) may take. Sender and consumer. */
  sdkRequestTimeoutMs: "SDK_REQUEST_TIMEOUT_MS",
  /** Payloads above this many bytes are verified while spooling to ephemeral storage. Consumer only. */
  streamAboveBytes: "STREAM_ABOVE_BYTES",
} as const;

/** Defaults for the optional variables above. */
export const DEFAULTS = {
  prefix: DEFAULT_PAYLOAD_PREFIX,
  inlineLimit: EVENT_PAYLOAD_LIMIT_BYTES,
  alwaysS3: false,
  compressInline: true,
  deleteAfterProcessing: true,
  // A day: a duplicate can arrive up to Lambda's maximum event age (6 h) after the original.
  idempotencyExpiresAfterSeconds: 86_400,
  // One attempt (connect + request) fits a 30 s function three times over, so the SDK's own
  // retries of a hung endpoint end in an error the handler sees, not in a function timeout.
  sdkConnectionTimeoutMs: 2_000,
  sdkRequestTimeoutMs: 5_000,
  streamAboveBytes: 16_777_216,
} as const;

/** S3 object metadata keys (sent as `x-amz-meta-*`) that carry what the sender recorded. */
export const OBJECT_METADATA = {
  id: "payload-id",
  sha256: "payload-sha256",
  size: "payload-size",
  format: "payload-format",
  sentAt: "payload-sent-at",
} as const;

/**
 * Attribute names of the idempotency table's records (Powertools' defaults). `key` is the
 * table's only key (a string); `expiry` holds epoch seconds and is the table's TTL attribute.
 */
export const IDEMPOTENCY_RECORD = {
  key: "id",
  status: "status",
  expiry: "expiration",
  inProgressExpiry: "in_progress_expiration",
  validation: "validation",
} as const;

/** Property of the inline event that marks it as ours; the consumer dispatches on it. */
export const INLINE_ENVELOPE_KEY = "lambdaS3AsyncPayload";
export const INLINE_ENVELOPE_VERSION = 1;
/**
 * Envelopes whose payload is compressed carry this version, so a consumer that predates
 * compression refuses them by version instead of reporting a confusing size mismatch.
 */
export const COMPRESSED_ENVELOPE_VERSION = 2;

/**
 * A sender event that is an object with exactly this one key, holding base64, carries binary
 * bytes instead of JSON. Lambda's Invoke API only accepts JSON, so binary input needs a wrapper.
 */
export const BINARY_INPUT_KEY = "$base64";

/** Everything a deployment or the local runtime decides about the pipeline. */
export interface PipelineSettings {
  senderName: string;
  consumerName: string;
  bucket: string;
  prefix: string;
  inlineLimitBytes: number;
  alwaysS3: boolean;
  compressInline: boolean;
  deleteAfterProcessing: boolean;
  idempotencyTable: string;
  idempotencyExpiresAfterSeconds: number;
  sdkConnectionTimeoutMs: number;
  sdkRequestTimeoutMs: number;
}

/** The environment each function receives. Stack and local runtime both call this. */
export function senderEnvironment(s: PipelineSettings): Record<string, string> {
  return {
    [ENV.bucket]: s.bucket,
    [ENV.prefix]: s.prefix,
    [ENV.consumerFunction]: s.consumerName,
    [ENV.inlineLimit]: String(s.inlineLimitBytes),
    [ENV.alwaysS3]: String(s.alwaysS3),
    [ENV.compressInline]: String(s.compressInline),
    ...sdkTimeoutEnvironment(s),
  };
}

export function consumerEnvironment(s: PipelineSettings): Record<string, string> {
  return {
    [ENV.bucket]: s.bucket,
    [ENV.prefix]: s.prefix,
    [ENV.deleteAfterProcessing]: String(s.deleteAfterProcessing),
    [ENV.idempotencyTable]: s.idempotencyTable,
    [ENV.idempotencyExpiresAfterSeconds]: String(s.idempotencyExpiresAfterSeconds),
    ...sdkTimeoutEnvironment(s),
  };
}

function sdkTimeoutEnvironment(s: PipelineSettings): Record<string, string> {
  return {
    [ENV.sdkConnectionTimeoutMs]: String(s.sdkConnectionTimeoutMs),
    [ENV.sdkRequestTimeoutMs]: String(s.sdkRequestTimeoutMs),
  };
}

/**
 * Payloads larger than one part go up as S3 multipart uploads, hashed while they stream, so their
 * size and sha256 are only known after the last part: too late for the object's metadata. The
 * data object is marked as awaiting its commit, and an empty commit object (the data key plus
 * {@link COMMIT_KEY_SUFFIX}) carrying the complete record is written once the upload completed.
 * The consumer processes a payload on its commit; an upload that never completes, or is never
 * committed, is never processed.
 */
export const MULTIPART_METADATA = {
  /** On the data object: "true" until the commit object exists. */
  awaitingCommit: "payload-awaiting-commit",
  /** On the commit object: the key of the data object it commits. */
  objectKey: "payload-object-key",
} as const;
export const COMMIT_KEY_SUFFIX = ".commit";

/** S3's smallest multipart part (all but the last) and most parts per upload. */
export const S3_MIN_PART_BYTES = 5_242_880;
export const S3_MAX_PARTS = 10_000;
/** Payloads up to one part go up in a single PUT; larger ones as multipart uploads of these parts. */
export const DEFAULT_PART_SIZE_BYTES = 8_388_608;
