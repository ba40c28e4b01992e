/**
 * Payloads whose inline event has an exact byte size, for the boundary cases of the tests and
 * `npm start`, and a prediction of that size independent of the sender's code: a plain
 * JSON.stringify of the documented envelope.
 */
import { createHash } from "node:crypto";
import { BINARY_INPUT_KEY, INLINE_ENVELOPE_KEY, INLINE_ENVELOPE_VERSION } from "../lib/contract";

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
  // The overhead depends on the digit count of the payload size, so settle it in two passes.
  let payloadSize = targetInlineSize - envelopeOverhead("json", targetInlineSize);
  payloadSize = targetInlineSize - envelopeOverhead("json", payloadSize);
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
