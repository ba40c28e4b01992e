/**
 * Observing the consumer the way an operator does: through the one JSON line the default
 * business function logs per payload (handlers/process-payload.ts).
 */
import type { LocalCloud } from "./cloud.ts";

export interface Delivery {
  id: string;
  route: "inline" | "s3";
  /** Present when the payload travelled inline compressed. */
  encoding?: "br";
  format: "json" | "binary";
  size: number;
  /** Computed by the consumer over the bytes it handed to the business function. */
  sha256: string;
  latencyMs: number;
}

/**
 * Resolves with the consumer's "payload received" line for `id`; rejects when the cloud went idle
 * without it (see LocalCloud.waitForLog).
 */
export async function waitForDelivery(cloud: LocalCloud, id: string): Promise<Delivery> {
  const line = await cloud.waitForLog(
    cloud.settings.consumerName,
    (l) => {
      const parsed = parseJsonLine(l);
      return parsed?.message === "payload received" && parsed.id === id;
    },
  );
  return parseJsonLine(line) as unknown as Delivery;
}

/** The JSON object in a log line, which Lambda's runtime may prefix with time and request id. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const start = line.indexOf("{");
  if (start < 0) return undefined;
  try {
    const v = JSON.parse(line.slice(start)) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
