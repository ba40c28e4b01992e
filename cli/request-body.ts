/**
 * The sender's request body for a file's bytes, and the largest file a request limit admits.
 * No AWS SDK here, so a CLI can size a request before it loads the client.
 */
import { BINARY_INPUT_KEY } from "../lib/contract.ts";

/**
 * The request body for a file's bytes: valid UTF-8 JSON is sent as the event itself; anything
 * else (or `binary: true`) is wrapped as `{"$base64": ...}` so the consumer gets these exact bytes.
 */
export function requestBodyFor(bytes: Uint8Array, binary = false): { body: Uint8Array; format: "json" | "binary" } {
  if (!binary) {
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      JSON.parse(text);
      return { body: bytes, format: "json" };
    } catch {
      // not UTF-8 JSON: send it as binary
    }
  }
  return { body: Buffer.from(JSON.stringify({ [BINARY_INPUT_KEY]: Buffer.from(bytes).toString("base64") })), format: "binary" };
}

/** The largest binary payload whose `{"$base64": …}` request body fits in `requestLimit` bytes. */
export function largestBinaryPayload(requestLimit: number): number {
  const wrapper = requestBodyFor(new Uint8Array(0), true).body.length;
  // base64 turns every 3 bytes (or part of them) into 4 characters.
  return Math.floor((requestLimit - wrapper) / 4) * 3;
}
