/**
 * Payloads whose inline event has an exact byte size, for the boundary cases of the tests and
 * `npm start`, and a prediction of that size independent of the sender's code: a plain
 * JSON.stringify of the documented envelope.
 */
import { createHash } from "node:crypto";
import { BINARY_INPUT_KEY, COMPRESSED_ENVELOPE_VERSION, INLINE_ENVELOPE_KEY, INLINE_ENVELOPE_VERSION } from "../lib/contract.ts";

/** Any ISO time has 24 characters; the sender's own sentAt is not in its response. */
const SENT_AT_SAMPLE = "2026-01-01T00:00:00.000Z";
const UUID_SAMPLE = "00000000-0000-4000-8000-000000000000";

export interface Recorded {
  id: string;
  format: "json" | "binary";
  size: number;
  sha256: string;
}

/** The byte size of the inline Event body for this payload: the wire format, written out. */
export function expectedInlineSize(r: Recorded, inlinePayload: unknown): number {
  const meta = { v: INLINE_ENVELOPE_VERSION, id: r.id, format: r.format, size: r.size, sha256: r.sha256, sentAt: SENT_AT_SAMPLE };
  return Buffer.byteLength(JSON.stringify({ [INLINE_ENVELOPE_KEY]: meta, payload: inlinePayload }), "utf8");
}

/** The byte size of the compressed inline Event body, given the complete compressed bytes. */
export function expectedCompressedInlineSize(r: Recorded, compressed: Uint8Array): number {
  const meta = { v: COMPRESSED_ENVELOPE_VERSION, id: r.id, format: r.format, size: r.size, sha256: r.sha256, sentAt: SENT_AT_SAMPLE, encoding: "br" };
  return Buffer.byteLength(JSON.stringify({ [INLINE_ENVELOPE_KEY]: meta, payload: Buffer.from(compressed).toString("base64") }), "utf8");
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function envelopeOverhead(format: "json" | "binary", payloadSize: number): number {
  const r = { id: UUID_SAMPLE, format, size: payloadSize, sha256: "0".repeat(64) };
  return expectedInlineSize(r, null) - Buffer.byteLength("null");
}

export interface BuiltPayload {
  /** What the test invokes the sender with. */
  event: unknown;
  /** The payload bytes the consumer must receive. */
  bytes: Buffer;
  format: "json" | "binary";
  /** What goes after `"payload":` in the inline event, for {@link expectedInlineSize}. */
  inlinePayload: unknown;
}

/**
 * A JSON event `{"data": "..."}` whose inline event is exactly `targetInlineSize` bytes: the
 * motif (any characters, escapes and lone surrogates included) repeated, then ASCII padding.
 */
export function jsonPayloadWithInlineSize(targetInlineSize: number, motif: string): BuiltPayload {
  const payloadSize = jsonPayloadSizeFor(targetInlineSize);
  const unit = `${motif}|`; // the bar keeps surrogate halves of neighbouring repeats apart
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2;
  const room = payloadSize - Buffer.byteLength('{"data":""}');
  if (room < 0) throw new Error(`target ${targetInlineSize} is too small for a JSON payload`);
  const repeats = Math.floor(room / unitBytes);
  const data = unit.repeat(repeats) + "a".repeat(room - repeats * unitBytes);
  const event = { data };
  const bytes = Buffer.from(JSON.stringify(event), "utf8");
  if (bytes.length !== payloadSize) throw new Error(`payload builder is off: ${bytes.length} != ${payloadSize}`);
  return { event, bytes, format: "json", inlinePayload: event };
}

function jsonPayloadSizeFor(targetInlineSize: number): number {
  // The overhead depends on the digit count of the payload size, so settle it in two passes.
  const payloadSize = targetInlineSize - envelopeOverhead("json", targetInlineSize);
  return targetInlineSize - envelopeOverhead("json", payloadSize);
}

/**
 * Like {@link jsonPayloadWithInlineSize}, but the string is pseudo-random printable ASCII (no
 * quote or backslash): about 6.5 bits per byte, so compressed and then base64-encoded it is
 * larger than it started, and it takes the route its uncompressed size gives it.
 */
export function incompressibleJsonPayloadWithInlineSize(targetInlineSize: number, seed = 1): BuiltPayload {
  const room = jsonPayloadSizeFor(targetInlineSize) - Buffer.byteLength('{"data":""}');
  if (room < 0) throw new Error(`target ${targetInlineSize} is too small for a JSON payload`);
  const event = { data: randomPrintable(room, seed) };
  const bytes = Buffer.from(JSON.stringify(event), "utf8");
  return { event, bytes, format: "json", inlinePayload: event };
}

/** Deterministic (mulberry32), so a failing case can be rebuilt from its seed. */
export function randomPrintable(length: number, seed: number): string {
  const alphabet = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '"' && c !== "\\").join("");
  let state = seed >>> 0;
  const chars = new Array<string>(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    chars[i] = alphabet[((t ^ (t >>> 14)) >>> 0) % alphabet.length]!;
  }
  return chars.join("");
}

/** Binary bytes (the motif repeated) whose inline event is as close to the target as base64 allows, never over. */
export function binaryPayloadWithInlineSize(targetInlineSize: number, motif: Uint8Array): BuiltPayload {
  // +2 for the base64 string's quotes; the second pass settles the size's digit count.
  const sizeFor = (overhead: number) => Math.max(1, Math.floor((targetInlineSize - overhead - 2) / 4) * 3);
  const n = sizeFor(envelopeOverhead("binary", sizeFor(envelopeOverhead("binary", targetInlineSize))));
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = motif[i % motif.length] ?? 0;
  const b64 = bytes.toString("base64");
  return { event: { [BINARY_INPUT_KEY]: b64 }, bytes, format: "binary", inlinePayload: b64 };
}
