/**
 * Benchmark payloads, deterministic so every run measures the same bytes. Each returns the event
 * as the Lambda runtime hands it to the sender: parsed from its JSON text.
 */
import { largeSample } from "../cli/samples.ts";
import { BINARY_INPUT_KEY } from "../lib/contract.ts";
import { randomPrintable } from "../local/payloads.ts";

export type PayloadKind = "seed JSON" | "records JSON" | "random JSON" | "binary";
export const PAYLOAD_KINDS: readonly PayloadKind[] = ["seed JSON", "records JSON", "random JSON", "binary"];

export interface BenchEvent {
  readonly kind: PayloadKind;
  /** The JSON text the sender is invoked with. */
  readonly text: string;
  /** Bytes of the payload the sender will send (for binary: the decoded bytes). */
  readonly payloadBytes: number;
}

/** A payload of about `bytes` bytes (at least `bytes`, by less than one record). */
export function benchEvent(kind: PayloadKind, bytes: number, seed = 1): BenchEvent {
  switch (kind) {
    case "seed JSON": {
      const text = JSON.stringify(largeSample(bytes - 1));
      return { kind, text, payloadBytes: Buffer.byteLength(text) };
    }
    case "records JSON": {
      const text = JSON.stringify(records(bytes, seed));
      return { kind, text, payloadBytes: Buffer.byteLength(text) };
    }
    case "random JSON": {
      const text = JSON.stringify({ data: randomPrintable(Math.max(0, bytes - '{"data":""}'.length), seed) });
      return { kind, text, payloadBytes: Buffer.byteLength(text) };
    }
    case "binary": {
      const raw = randomBytes(bytes, seed);
      return { kind, text: JSON.stringify({ [BINARY_INPUT_KEY]: raw.toString("base64") }), payloadBytes: raw.length };
    }
  }
}

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(Math.ceil(n / 4) * 4);
  for (let i = 0; i < out.length; i += 4) out.writeUInt32LE(Math.floor(next() * 2 ** 32), i);
  return out.subarray(0, n);
}

const WORDS = (
  "order payment invoice customer shipment parcel warehouse refund discount voucher account balance " +
  "transfer delivery address street city region country postal priority standard express return " +
  "item product catalog review rating comment support ticket status pending complete failed retry"
).split(" ");
const NAMES = ["Ana Silva", "Ben Okafor", "Chen Wei", "Dana Levi", "Emil Novak", "Farah Haddad", "Goro Sato", "Hana Kim"];

/** Business-like records: ids, timestamps, amounts and short texts, compressing 4-6x. */
function records(bytes: number, seed: number): unknown[] {
  const next = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join("");
  const out: unknown[] = [];
  let size = 2;
  let time = Date.UTC(2026, 0, 1);
  while (size < bytes) {
    time += Math.floor(next() * 60_000);
    const name = pick(NAMES);
    const record = {
      id: `${hex(8)}-${hex(4)}-4${hex(3)}-${hex(4)}-${hex(12)}`,
      createdAt: new Date(time).toISOString(),
      customer: { name, email: `${name.split(" ")[0]!.toLowerCase()}.${hex(4)}@example.com` },
      amount: Math.round(next() * 100_000) / 100,
      currency: pick(["EUR", "USD", "GBP"]),
      items: Array.from({ length: 1 + Math.floor(next() * 3) }, () => ({ sku: `SKU-${hex(6)}`, qty: 1 + Math.floor(next() * 5) })),
      status: pick(["pending", "paid", "shipped", "delivered", "refunded"]),
      note: Array.from({ length: 3 + Math.floor(next() * 6) }, () => pick(WORDS)).join(" "),
    };
    size += JSON.stringify(record).length + (out.length > 0 ? 1 : 0);
    out.push(record);
  }
  return out;
}
