/**
 * Bytes in, the same bytes out. Turns a sender event into payload bytes once, wraps those bytes
 * in the inline Event body without re-serializing them, and recovers exactly those bytes on the
 * consumer side.
 *
 * Inline body, JSON payloads (embedded as JSON so no capacity is spent on escaping):
 *   {"lambdaS3AsyncPayload":{"v":1,...meta},"payload":<payload bytes verbatim>}
 * Inline body, binary payloads (Lambda only accepts JSON, so base64):
 *   {"lambdaS3AsyncPayload":{"v":1,...meta},"payload":"<base64>"}
 * Inline body, payloads that only fit compressed (either format):
 *   {"lambdaS3AsyncPayload":{"v":2,...meta,"encoding":"br"},"payload":"<base64 of the brotli bytes>"}
 */
import { createHash } from "node:crypto";
import { compressWithin, decompressExact, PAYLOAD_ENCODING, type PayloadEncoding } from "./compression.ts";
import {
  BINARY_INPUT_KEY,
  COMPRESSED_ENVELOPE_VERSION,
  COMPRESSED_PAYLOAD_MAX_BYTES,
  INLINE_ENVELOPE_KEY,
  INLINE_ENVELOPE_VERSION,
} from "./contract.ts";
import { jsonText } from "./json-text.ts";

export type PayloadFormat = "json" | "binary";

/** What the sender records about a payload; travels in the inline envelope or object metadata. */
export interface PayloadMeta {
  readonly id: string;
  readonly format: PayloadFormat;
  readonly size: number;
  readonly sha256: string;
  /** ISO-8601 time the sender accepted the payload, for end-to-end latency. */
  readonly sentAt: string;
}

export class InvalidPayloadError extends Error {
  override readonly name = "InvalidPayloadError";
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The one serialization of a sender event. `{"$base64": "..."}` carries binary bytes; any other
 * JSON value is the payload itself, as `JSON.stringify` writes it.
 */
export function payloadFromEvent(event: unknown): { bytes: Buffer; format: PayloadFormat } {
  if (isBinaryInput(event)) {
    return { bytes: decodeBase64Strict(event[BINARY_INPUT_KEY], `event.${BINARY_INPUT_KEY}`), format: "binary" };
  }
  const text = jsonText(event);
  if (text === undefined) throw new InvalidPayloadError("The event is not a JSON value");
  return { bytes: Buffer.from(text, "utf8"), format: "json" };
}

function isBinaryInput(event: unknown): event is Record<typeof BINARY_INPUT_KEY, string> {
  if (typeof event !== "object" || event === null || Array.isArray(event)) return false;
  const keys = Object.keys(event);
  if (keys.length !== 1 || keys[0] !== BINARY_INPUT_KEY) return false;
  const value = (event as Record<string, unknown>)[BINARY_INPUT_KEY];
  if (typeof value !== "string") {
    throw new InvalidPayloadError(`event.${BINARY_INPUT_KEY} must be a base64 string, got ${typeOf(value)}`);
  }
  return true;
}

function decodeBase64Strict(text: string, where: string): Buffer {
  // Buffer.from silently skips characters that are not base64 and accepts missing padding; a
  // payload must not change, so only text that re-encodes to itself is accepted. (A regular
  // expression was 40 ms per MiB and overflowed the stack above about 4 MiB.)
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) throw new InvalidPayloadError(`${where} is not valid base64 (RFC 4648, with padding)`);
  return bytes;
}

export interface InlineEnvelope {
  /** Exact byte length of the request body `body()` would return. */
  readonly size: number;
  /** Builds the body; only called once the payload is known to go inline. */
  body(): Buffer;
}

/** A payload's inline event after compression: what was sent in place of the payload. */
export interface CompressedInlineEnvelope extends InlineEnvelope {
  readonly encoding: PayloadEncoding;
  /** Bytes of the compressed payload, before base64. */
  readonly compressedSize: number;
}

/** Sizes the inline body without building it, so payloads bound for S3 are never copied. */
export function inlineEnvelope(meta: PayloadMeta, bytes: Uint8Array): InlineEnvelope {
  const quote = meta.format === "binary" ? '"' : "";
  const head = envelopeHead({ v: INLINE_ENVELOPE_VERSION, ...meta }, quote);
  const tail = Buffer.from(`${quote}}`, "utf8");
  const payloadSize = meta.format === "binary" ? base64Length(bytes.length) : bytes.length;
  return {
    size: head.length + payloadSize + tail.length,
    body() {
      const payload = meta.format === "binary" ? base64Bytes(bytes) : view(bytes);
      return Buffer.concat([head, payload, tail]);
    },
  };
}

function envelopeHead(meta: object, quote: string): Buffer {
  return Buffer.from(`{"${INLINE_ENVELOPE_KEY}":${JSON.stringify(meta)},"payload":${quote}`, "utf8");
}

function base64Length(n: number): number {
  return 4 * Math.ceil(n / 3);
}

/** A view, not Buffer.from(bytes): that would copy the payload just to encode it. */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function base64Bytes(bytes: Uint8Array): Buffer {
  return Buffer.from(view(bytes).toString("base64"), "latin1");
}

export interface FitOptions {
  /** Largest inline Event request body, in bytes. */
  readonly limitBytes: number;
  /** Try compression when the payload does not fit as it is. */
  readonly compress: boolean;
}

/** How a payload goes inline, or the size of the inline event that did not fit. */
export type InlineFit =
  | { readonly fits: true; readonly envelope: InlineEnvelope | CompressedInlineEnvelope }
  | {
      readonly fits: false;
      /** Bytes of the uncompressed inline event. */
      readonly inlineSize: number;
      /** Whether compression ran (and its output did not fit). */
      readonly compressionTried: boolean;
    };

/**
 * The inline event for a payload: as it is when that fits; otherwise compressed, when
 * compression is on and the compressed event fits. Compression is only tried when it can change
 * the route, and at most once.
 */
export async function fitInline(meta: PayloadMeta, bytes: Uint8Array, options: FitOptions): Promise<InlineFit> {
  const plain = inlineEnvelope(meta, bytes);
  if (plain.size <= options.limitBytes) return { fits: true, envelope: plain };
  const tooLarge = (compressionTried: boolean): InlineFit => ({ fits: false, inlineSize: plain.size, compressionTried });
  if (!options.compress || bytes.length > COMPRESSED_PAYLOAD_MAX_BYTES) return tooLarge(false);

  const head = envelopeHead({ v: COMPRESSED_ENVELOPE_VERSION, ...meta, encoding: PAYLOAD_ENCODING }, '"');
  const tail = Buffer.from('"}', "utf8");
  // base64 turns every 3 bytes (or part of 3) into 4 characters.
  const maxCompressed = Math.floor((options.limitBytes - head.length - tail.length) / 4) * 3;
  if (maxCompressed <= 0) return tooLarge(false);
  const compressed = await compressWithin(bytes, maxCompressed);
  if (!compressed.fits) return tooLarge(true);
  const encoded = compressed.bytes;
  const size = head.length + base64Length(encoded.length) + tail.length;
  return {
    fits: true,
    envelope: {
      size,
      encoding: PAYLOAD_ENCODING,
      compressedSize: encoded.length,
      body() {
        // One allocation: the base64 text is written straight into the body.
        const body = Buffer.allocUnsafe(size);
        head.copy(body, 0);
        const end = head.length + body.write(encoded.toString("base64"), head.length, "latin1");
        tail.copy(body, end);
        return body;
      },
    },
  };
}

export function isInlineEvent(event: unknown): boolean {
  return typeof event === "object" && event !== null && !Array.isArray(event) && INLINE_ENVELOPE_KEY in event;
}

/**
 * Recovers the sender's bytes from the inline event the Lambda runtime has already parsed.
 * `JSON.stringify(JSON.parse(s)) === s` for every `s` that `JSON.stringify` produced, so a
 * JSON payload comes back byte-identical; the sha256 check below proves it each time.
 */
export function decodeInlineEvent(event: unknown): { meta: PayloadMeta; bytes: Buffer; encoding?: PayloadEncoding } {
  if (!isInlineEvent(event)) throw new InvalidPayloadError(`Event has no ${INLINE_ENVELOPE_KEY} envelope`);
  const envelope = event as Record<string, unknown>;
  const meta = parseMeta(envelope[INLINE_ENVELOPE_KEY], INLINE_ENVELOPE_KEY);
  const encoding = parseEncoding(envelope[INLINE_ENVELOPE_KEY] as Record<string, unknown>);
  if (!("payload" in envelope)) throw new InvalidPayloadError("Inline event has no payload property");
  const payload = envelope.payload;
  let bytes: Buffer;
  if (encoding !== undefined) {
    if (typeof payload !== "string") throw new InvalidPayloadError(`Inline compressed payload must be a base64 string, got ${typeOf(payload)}`);
    bytes = decompressExact(decodeBase64Strict(payload, "payload"), encoding, meta.size, COMPRESSED_PAYLOAD_MAX_BYTES);
    verify(meta, bytes, "inline payload");
    return { meta, bytes, encoding };
  }
  if (meta.format === "binary") {
    if (typeof payload !== "string") throw new InvalidPayloadError(`Inline binary payload must be a base64 string, got ${typeOf(payload)}`);
    bytes = decodeBase64Strict(payload, "payload");
  } else {
    bytes = Buffer.from(jsonText(payload) ?? "", "utf8");
  }
  verify(meta, bytes, "inline payload");
  return { meta, bytes };
}

/** Rejects bytes that differ from what the sender recorded; returns the sha256 it computed. */
export function verify(meta: Pick<PayloadMeta, "size" | "sha256">, bytes: Uint8Array, what: string): string {
  if (bytes.length !== meta.size) {
    throw new InvalidPayloadError(`${what} is ${bytes.length} bytes; the sender recorded ${meta.size}`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== meta.sha256) {
    throw new InvalidPayloadError(`${what} has sha256 ${actual}; the sender recorded ${meta.sha256}`);
  }
  return actual;
}

/** Validates meta from the inline envelope (`v` included) or from S3 object metadata. */
export function parseMeta(value: unknown, where: string): PayloadMeta {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidPayloadError(`${where} must be an object, got ${typeOf(value)}`);
  }
  const m = value as Record<string, unknown>;
  if ("v" in m && m.v !== INLINE_ENVELOPE_VERSION && m.v !== COMPRESSED_ENVELOPE_VERSION) {
    throw new InvalidPayloadError(
      `${where}.v is ${JSON.stringify(m.v)}; this consumer reads versions ${INLINE_ENVELOPE_VERSION} and ${COMPRESSED_ENVELOPE_VERSION}`,
    );
  }
  const id = m.id;
  const format = m.format;
  const size = typeof m.size === "string" && /^\d+$/.test(m.size) ? Number(m.size) : m.size;
  const sha256 = m.sha256;
  const sentAt = m.sentAt;
  if (typeof id !== "string" || id === "") throw new InvalidPayloadError(`${where}.id is missing`);
  if (format !== "json" && format !== "binary") {
    throw new InvalidPayloadError(`${where}.format is ${JSON.stringify(format)}; expected "json" or "binary"`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidPayloadError(`${where}.size is ${JSON.stringify(m.size)}; expected a byte count`);
  }
  if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
    throw new InvalidPayloadError(`${where}.sha256 is ${JSON.stringify(sha256)}; expected 64 lowercase hex digits`);
  }
  if (typeof sentAt !== "string" || Number.isNaN(Date.parse(sentAt))) {
    throw new InvalidPayloadError(`${where}.sentAt is ${JSON.stringify(sentAt)}; expected an ISO-8601 time`);
  }
  return { id, format, size, sha256, sentAt };
}

/** Version 2 envelopes say how their payload is compressed; version 1 payloads never are. */
function parseEncoding(m: Record<string, unknown>): PayloadEncoding | undefined {
  if (m.v !== COMPRESSED_ENVELOPE_VERSION) return undefined;
  if (m.encoding !== PAYLOAD_ENCODING) {
    throw new InvalidPayloadError(`${INLINE_ENVELOPE_KEY}.encoding is ${JSON.stringify(m.encoding)}; expected "${PAYLOAD_ENCODING}"`);
  }
  return PAYLOAD_ENCODING;
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}
