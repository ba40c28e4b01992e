/**
 * Reading a payload object's body with memory bounded by design: checked against the sender's
 * record (size and sha256) while it streams, before anything is handed over. Ordinary sizes land
 * in one buffer of exactly the recorded size (no chunk list to concatenate, so about one copy of
 * the payload); large ones are spooled to the function's ephemeral storage, so memory stays flat
 * whatever the size and the real ceiling is the configured ephemeral storage.
 */
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, statfs } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { InvalidPayloadError, type PayloadMeta } from "./payload-codec.ts";

/** The payload is larger than the ephemeral storage left to spool it to. */
export class EphemeralStorageTooSmallError extends Error {
  override readonly name = "EphemeralStorageTooSmallError";
}

/** The body as one buffer of the recorded size; throws as soon as it runs past that size. */
export async function readVerified(body: AsyncIterable<Uint8Array>, meta: Pick<PayloadMeta, "size" | "sha256">, where: string): Promise<{ bytes: Buffer; sha256: string }> {
  const bytes = Buffer.allocUnsafe(meta.size);
  const hash = createHash("sha256");
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.length > meta.size) throw new InvalidPayloadError(`${where} is more than the ${meta.size} bytes the sender recorded`);
    bytes.set(chunk, at);
    hash.update(chunk);
    at += chunk.length;
  }
  return { bytes, sha256: check(meta, at, hash.digest("hex"), where) };
}

export interface SpooledPayload {
  readonly sha256: string;
  /** A new stream over the verified bytes. */
  open(): Readable;
  remove(): Promise<void>;
}

/** Writes the body to a file in `dir` while hashing it; the file is removed again if it does not verify. */
export async function spoolVerified(body: AsyncIterable<Uint8Array>, meta: Pick<PayloadMeta, "size" | "sha256">, where: string, dir: string): Promise<SpooledPayload> {
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  if (meta.size > free) {
    throw new EphemeralStorageTooSmallError(`${where} is ${meta.size} bytes; only ${free} bytes are free in ${dir} (raise the consumer's ephemeral storage)`);
  }
  const file = path.join(dir, `payload-${randomUUID()}`);
  const remove = () => rm(file, { force: true });
  const hash = createHash("sha256");
  let at = 0;
  const out = createWriteStream(file);
  try {
    for await (const chunk of body) {
      if (at + chunk.length > meta.size) throw new InvalidPayloadError(`${where} is more than the ${meta.size} bytes the sender recorded`);
      hash.update(chunk);
      at += chunk.length;
      // events.once removes its "error" listener when "drain" comes; a listener per drain would
      // pile up on the stream (MaxListenersExceededWarning past 10 drains).
      if (!out.write(chunk)) await once(out, "drain");
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { sha256: check(meta, at, hash.digest("hex"), where), open: () => createReadStream(file), remove };
  } catch (error) {
    out.destroy();
    await remove();
    throw error;
  }
}

function check(meta: Pick<PayloadMeta, "size" | "sha256">, size: number, sha256: string, where: string): string {
  if (size !== meta.size) throw new InvalidPayloadError(`${where} is ${size} bytes; the sender recorded ${meta.size}`);
  if (sha256 !== meta.sha256) throw new InvalidPayloadError(`${where} has sha256 ${sha256}; the sender recorded ${meta.sha256}`);
  return sha256;
}
