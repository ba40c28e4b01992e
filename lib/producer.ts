/**
 * The producer library: hands a payload of any size to the consumer function from any Node.js
 * process (a Lambda of your own, a container, a script). The sender function is one caller.
 *
 *   inline Event invoke   the exact request body fits `payloadSizeThreshold` (compressed, if only that fits)
 *   S3, single PUT        otherwise, up to `partSize` bytes
 *   S3, multipart         larger than `partSize`, or a stream that turns out to be; hashed while streaming
 *
 * Option names follow the SQS Extended Client (payloadSizeThreshold, alwaysThroughS3,
 * s3KeyPrefix) and lib-storage's Upload (partSize, queueSize, leavePartsOnError).
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import { describeError, isPayloadTooLarge } from "./aws-errors.ts";
import type { PayloadEncoding } from "./compression.ts";
import { DEFAULT_PART_SIZE_BYTES, DEFAULT_PAYLOAD_PREFIX, EVENT_PAYLOAD_LIMIT_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES } from "./contract.ts";
import { log } from "./log.ts";
import { fitInline, InvalidPayloadError, sha256Hex, type PayloadFormat, type PayloadMeta } from "./payload-codec.ts";
import { payloadObjectKey } from "./payload-object.ts";
import { uploadMultipart, type UploadProgress } from "./payload-upload.ts";
import { loadS3, putPayloadObject } from "./s3-client.ts";
import type { SdkTimeouts } from "./sdk-timeouts.ts";

export { PayloadUploadError, type UploadProgress } from "./payload-upload.ts";
export { UnsupportedJsonValueError } from "./json-text.ts";

/** Where payloads go: the stack's outputs `consumer_function_name` and `bucket_name`. */
export interface PayloadTarget {
  /** Name or ARN of the consumer function. */
  readonly consumerFunction: string;
  /** The payload bucket; its notification must trigger the consumer for `s3KeyPrefix`. */
  readonly bucket: string;
  /** @default "payloads/", the stack's `payloadPrefix` */
  readonly s3KeyPrefix?: string;
  /** @default a client from the standard credential, region and endpoint chain */
  readonly lambdaClient?: LambdaClient;
  /** @default a client from the standard credential, region and endpoint chain */
  readonly s3Client?: S3Client;
  /**
   * Connection and per-attempt request timeouts for the S3 client made when `s3Client` is not
   * given (the sender function passes its configured ones).
   * @default the SDK's
   */
  readonly sdkTimeouts?: SdkTimeouts;
}

export interface SendPayloadOptions {
  /** Largest inline Event request body, in bytes (the exact body, envelope and base64 included). @default 1,048,576 */
  readonly payloadSizeThreshold?: number;
  /** Send every payload through S3. @default false */
  readonly alwaysThroughS3?: boolean;
  /** Compress (brotli) a payload that only fits inline compressed. @default true */
  readonly compress?: boolean;
  /** What bytes or a stream hold; a JSON value is always "json". @default "binary" */
  readonly format?: PayloadFormat;
  /** A stream's length, when known: checked against what the stream gives, and reported as progress `total`. */
  readonly contentLength?: number;
  /** Bytes per part, at least 5 MiB; payloads up to this size go up in one PUT. @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploaded at once; the producer holds about queueSize × partSize bytes. @default 4 */
  readonly queueSize?: number;
  /** Keep the parts of a failed multipart upload (the bucket's lifecycle rule aborts it later). @default false */
  readonly leavePartsOnError?: boolean;
  /** Aborts a multipart upload; nothing is committed, so the consumer never sees it. */
  readonly abortSignal?: AbortSignal;
  /** Called as parts complete. */
  readonly onProgress?: (progress: UploadProgress) => void;
}

/** A JSON value, bytes, or a stream of bytes (a Node.js Readable or any async iterable of chunks). */
export type Payload = unknown;

/** Why a payload went through S3. */
export type S3Reason = "too-large" | "always-s3" | "lambda-rejected-413";

export type SendResult = {
  id: string;
  format: PayloadFormat;
  size: number;
  sha256: string;
  /** Milliseconds spent serializing and sending. */
  elapsedMs: number;
} & (
  /**
   * `inlineSize` is the request body sent. `encoding` and `compressedSize` (bytes before base64)
   * are present when the payload only fit compressed.
   */
  | { route: "inline"; inlineSize: number; encoding?: PayloadEncoding; compressedSize?: number }
  /**
   * `inlineSize` is the inline event that did not fit or was refused; absent when it was not sized
   * (always-S3, or a stream longer than one part). `upload` is how the object went up; a
   * multipart payload is handed to the consumer by its `commitKey`.
   */
  | { route: "s3"; reason: S3Reason; inlineSize?: number; bucket: string; key: string; upload: "put" | "multipart"; commitKey?: string }
);

export class InvalidSendOptionsError extends Error {
  override readonly name = "InvalidSendOptionsError";
}

const OPTION_KEYS: ReadonlySet<string> = new Set<keyof SendPayloadOptions>([
  "payloadSizeThreshold",
  "alwaysThroughS3",
  "compress",
  "format",
  "contentLength",
  "partSize",
  "queueSize",
  "leavePartsOnError",
  "abortSignal",
  "onProgress",
]);

let defaultLambda: LambdaClient | undefined;

/**
 * Sends `payload` to the consumer: inline when its exact Event body fits, else through S3. Resolves
 * once the consumer has been handed it (Lambda accepted the Event invoke, or the object is in S3).
 */
export async function sendPayload(target: PayloadTarget, payload: Payload, options: SendPayloadOptions = {}): Promise<SendResult> {
  const started = performance.now();
  const o = resolveOptions(target, options);
  const sentAt = new Date().toISOString();
  const id = randomUUID();
  const elapsed = () => Math.round(performance.now() - started);

  if (isStream(payload)) {
    const format = options.format ?? "binary";
    // Up to one part is read first: a short stream is then sent like bytes, on the inline route if it fits.
    const iterator = (payload as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headSize = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return sendBytes(target, o, Buffer.concat(head, headSize), { id, format, sentAt }, elapsed);
      const chunk = toBuffer(next.value);
      head.push(chunk);
      headSize += chunk.length;
      if (headSize > o.partSize) break;
    }
    const rest: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => iterator,
    };
    async function* whole() {
      yield* head.splice(0);
      yield* rest;
    }
    return sendMultipart(target, o, whole(), { id, format, sentAt }, o.alwaysThroughS3 ? "always-s3" : "too-large", undefined, elapsed);
  }
  if (payload instanceof Uint8Array) {
    return sendBytes(target, o, toBuffer(payload), { id, format: options.format ?? "binary", sentAt }, elapsed);
  }
  if (options.format !== undefined && options.format !== "json") {
    throw new InvalidSendOptionsError(`format ${JSON.stringify(options.format)} applies to bytes and streams; a JSON value is sent as "json"`);
  }
  const text = JSON.stringify(payload);
  if (text === undefined) throw new InvalidPayloadError(`The payload is not a JSON value, bytes or a stream (got ${typeof payload})`);
  return sendBytes(target, o, Buffer.from(text, "utf8"), { id, format: "json", sentAt }, elapsed);
}

type Resolved = Required<Pick<SendPayloadOptions, "payloadSizeThreshold" | "alwaysThroughS3" | "compress" | "partSize" | "queueSize" | "leavePartsOnError">> &
  Pick<SendPayloadOptions, "contentLength" | "abortSignal" | "onProgress"> & { prefix: string };

function resolveOptions(target: PayloadTarget, options: SendPayloadOptions): Resolved {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new InvalidSendOptionsError(`Unknown option ${JSON.stringify(key)}; known: ${[...OPTION_KEYS].join(", ")}`);
  }
  if (typeof target?.consumerFunction !== "string" || target.consumerFunction === "") throw new InvalidSendOptionsError("target.consumerFunction is missing");
  if (typeof target.bucket !== "string" || target.bucket === "") throw new InvalidSendOptionsError("target.bucket is missing");
  const integer = (name: keyof SendPayloadOptions, fallback: number, min: number, max: number) => {
    const value = options[name] ?? fallback;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidSendOptionsError(`${name} is ${String(value)}; expected an integer from ${min} to ${max}`);
    }
    return value;
  };
  if (options.format !== undefined && options.format !== "json" && options.format !== "binary") {
    throw new InvalidSendOptionsError(`format is ${JSON.stringify(options.format)}; expected "json" or "binary"`);
  }
  return {
    payloadSizeThreshold: integer("payloadSizeThreshold", EVENT_PAYLOAD_LIMIT_BYTES, 1, Number.MAX_SAFE_INTEGER),
    alwaysThroughS3: options.alwaysThroughS3 ?? false,
    compress: options.compress ?? true,
    // S3 allows parts up to 5 GiB.
    partSize: integer("partSize", DEFAULT_PART_SIZE_BYTES, S3_MIN_PART_BYTES, 5 * 1024 ** 3),
    queueSize: integer("queueSize", 4, 1, 64),
    leavePartsOnError: options.leavePartsOnError ?? false,
    ...(options.contentLength !== undefined && { contentLength: integer("contentLength", 0, 0, Number.MAX_SAFE_INTEGER) }),
    ...(options.abortSignal !== undefined && { abortSignal: options.abortSignal }),
    ...(options.onProgress !== undefined && { onProgress: options.onProgress }),
    prefix: target.s3KeyPrefix ?? DEFAULT_PAYLOAD_PREFIX,
  };
}

async function sendBytes(
  target: PayloadTarget,
  o: Resolved,
  bytes: Buffer,
  head: Pick<PayloadMeta, "id" | "format" | "sentAt">,
  elapsed: () => number,
): Promise<SendResult> {
  if (o.contentLength !== undefined && o.contentLength !== bytes.length) {
    throw new InvalidPayloadError(`The payload is ${bytes.length} bytes; contentLength said ${o.contentLength}`);
  }
  const meta: PayloadMeta = { ...head, size: bytes.length, sha256: sha256Hex(bytes) };
  const common = { id: meta.id, format: meta.format, size: meta.size, sha256: meta.sha256 };
  let reason: S3Reason = "always-s3";
  let inlineSize: number | undefined;
  if (!o.alwaysThroughS3) {
    const fit = await fitInline(meta, bytes, { limitBytes: o.payloadSizeThreshold, compress: o.compress });
    reason = "too-large";
    if (!fit.fits) {
      inlineSize = fit.inlineSize;
    } else {
      const { envelope } = fit;
      inlineSize = envelope.size;
      try {
        const lambda = target.lambdaClient ?? (defaultLambda ??= new LambdaClient({}));
        await lambda.send(new InvokeCommand({ FunctionName: target.consumerFunction, InvocationType: "Event", Payload: envelope.body() }));
        const compressed = "encoding" in envelope ? { encoding: envelope.encoding, compressedSize: envelope.compressedSize } : {};
        return { route: "inline", ...common, inlineSize: envelope.size, ...compressed, elapsedMs: elapsed() };
      } catch (err) {
        if (!isPayloadTooLarge(err)) throw err;
        reason = "lambda-rejected-413";
        log("warn", "Lambda rejected the inline event as too large; sending the payload through S3 instead", {
          id: meta.id,
          inlineSize: envelope.size,
          configuredLimit: o.payloadSizeThreshold,
          error: describeError(err),
        });
      }
    }
  }
  if (bytes.length > o.partSize) {
    // Known bytes need no second hash, but one multipart path keeps the consumer's side single.
    const chunks = (async function* () {
      for (let at = 0; at < bytes.length; at += o.partSize) yield bytes.subarray(at, at + o.partSize);
    })();
    return sendMultipart(target, { ...o, contentLength: bytes.length }, chunks, head, reason, inlineSize, elapsed);
  }
  const key = payloadObjectKey(o.prefix, meta);
  await putPayloadObject(target.bucket, key, bytes, meta, target.s3Client ?? (await loadS3(target.sdkTimeouts)).client);
  o.onProgress?.({ loaded: bytes.length, total: bytes.length });
  return { route: "s3", reason, ...common, ...(inlineSize !== undefined && { inlineSize }), bucket: target.bucket, key, upload: "put", elapsedMs: elapsed() };
}

async function sendMultipart(
  target: PayloadTarget,
  o: Resolved,
  body: AsyncIterable<Uint8Array>,
  head: Pick<PayloadMeta, "id" | "format" | "sentAt">,
  reason: S3Reason,
  inlineSize: number | undefined,
  elapsed: () => number,
): Promise<SendResult> {
  if (o.contentLength !== undefined && Math.ceil(o.contentLength / o.partSize) > S3_MAX_PARTS) {
    throw new InvalidSendOptionsError(`${o.contentLength} bytes in parts of ${o.partSize} are more than S3's ${S3_MAX_PARTS} parts; raise partSize`);
  }
  const key = payloadObjectKey(o.prefix, head);
  const s3 = target.s3Client ?? (await loadS3(target.sdkTimeouts)).client;
  const { meta, commitKey } = await uploadMultipart(s3, target.bucket, key, body, head, o);
  return {
    route: "s3",
    reason,
    id: meta.id,
    format: meta.format,
    size: meta.size,
    sha256: meta.sha256,
    ...(inlineSize !== undefined && { inlineSize }),
    bucket: target.bucket,
    key,
    upload: "multipart",
    commitKey,
    elapsedMs: elapsed(),
  };
}

function isStream(payload: unknown): boolean {
  return typeof payload === "object" && payload !== null && !(payload instanceof Uint8Array) && Symbol.asyncIterator in payload;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new InvalidPayloadError(`A payload stream must give bytes (Buffer, Uint8Array or string chunks), got ${typeof chunk}`);
}
