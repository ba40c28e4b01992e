/**
 * Reading a payload object's body with memory bounded by design: checked against the sender's
 * record (size and sha256) while it streams, before anything is handed over. Ordinary sizes land
 * in one buffer of exactly the recorded size (no chunk list to concatenate, so about one copy of
 * the payload); large ones are spooled to the function's ephemeral storage, so memory stays flat
 * whatever the size and the real ceiling is the configured ephemeral storage.
 *
 * Spool files live in a directory of their own and are named for the process that wrote them. An
 * invocation that is killed (a timeout) cannot remove its file, and /tmp outlives it in the
 * execution environment, so every spool first removes the files no running spool owns: without
 * that, each retry of a large payload added its own copy until /tmp was full for every payload.
 */
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, readdirSync, rmSync } from "node:fs";
import { mkdir, readdir, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
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

/** The spool directory inside `base` (the function's ephemeral storage). */
export function spoolDirectory(base: string = tmpdir()): string {
  return path.join(base, "payload-spool");
}

const SPOOL_FILE = /^payload-(\d+)-[0-9a-f-]+$/;

/** This process's spool files that are being written or read. */
const running = new Set<string>();

/**
 * A file no running spool owns: one of this process that is not running (the runtime that wrote
 * it was killed and this one got its process id), or of a process that no longer exists. Files of
 * another live process are left alone: on a developer's machine several share one /tmp.
 */
function isStale(dir: string, name: string): boolean {
  const owner = SPOOL_FILE.exec(name)?.[1];
  if (owner === undefined) return false;
  if (Number(owner) === process.pid) return !running.has(path.join(dir, name));
  try {
    process.kill(Number(owner), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Removes stale spool files from `dir`; returns their names. */
export async function removeStaleSpools(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const stale = names.filter((name) => isStale(dir, name));
  await Promise.all(stale.map((name) => rm(path.join(dir, name), { force: true })));
  return stale;
}

/** {@link removeStaleSpools} for a function's init, which is synchronous. */
export function removeStaleSpoolsSync(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const stale = names.filter((name) => isStale(dir, name));
  for (const name of stale) rmSync(path.join(dir, name), { force: true });
  return stale;
}

/**
 * Writes the body to a file in `dir` (see {@link spoolDirectory}) while hashing it, after removing
 * stale spool files there; the file is removed again if it does not verify.
 */
export async function spoolVerified(body: AsyncIterable<Uint8Array>, meta: Pick<PayloadMeta, "size" | "sha256">, where: string, dir: string): Promise<SpooledPayload> {
  await mkdir(dir, { recursive: true });
  // Removed first, so the space check counts what is really free.
  await removeStaleSpools(dir);
  const stats = await statfs(dir);
  const free = stats.bavail * stats.bsize;
  if (meta.size > free) {
    throw new EphemeralStorageTooSmallError(`${where} is ${meta.size} bytes; only ${free} bytes are free in ${dir} (raise the consumer's ephemeral storage)`);
  }
  const file = path.join(dir, `payload-${process.pid}-${randomUUID()}`);
  running.add(file);
  const remove = async () => {
    running.delete(file);
    await rm(file, { force: true });
  };
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
