/**
 * Compression that keeps payloads inline: brotli at quality 0, chosen by bytes saved per
 * millisecond (`npm run bench` measures the candidates on this machine; README, "Compression").
 * Compressing gives up as soon as the output can no longer fit, so a payload that does not
 * compress costs a fraction of one compression, once. Decompressing refuses to produce more
 * bytes than the sender recorded, so a small body cannot expand into a large allocation.
 */
// Aliased: the bundles' banner declares its own `createRequire` at the top of every file.
import { createRequire as requireFor } from "node:module";
import type * as Zlib from "node:zlib";

/** The HTTP content-coding name of the one encoding used for inline payloads. */
export type PayloadEncoding = "br";
export const PAYLOAD_ENCODING: PayloadEncoding = "br";

/** Brotli quality; see the module comment for why 0. */
export const BROTLI_QUALITY = 0;

/**
 * A 256 KiB window (the default is 4 MiB). With the default, brotli's fast qualities produced
 * their first output only after reading about 4 MiB, so the early exit came that late on an
 * incompressible payload; at quality 0 the small window also compressed the benchmark's JSON
 * slightly better and faster than a 1 MiB window did.
 */
const BROTLI_WINDOW_BITS = 18;

/**
 * Output is handed over in chunks this large; the early exit can overshoot the budget by at most
 * one chunk before it stops.
 */
const OUTPUT_CHUNK_BYTES = 64 * 1024;

// zlib is loaded on first use: the consumer only needs it for compressed events, and loading it
// cost about 0.15x of a bare `node -e 0` start on the benchmark machine.
const load = requireFor(import.meta.url);
let zlibModule: typeof Zlib | undefined;
function zlib(): typeof Zlib {
  return (zlibModule ??= load("node:zlib") as typeof Zlib);
}

export type CompressOutcome =
  | { readonly fits: true; readonly bytes: Buffer }
  | {
      readonly fits: false;
      /** Compressed bytes produced before giving up: at most the budget plus one chunk. */
      readonly producedBytes: number;
    };

/**
 * Compresses `input`, or stops as soon as the output exceeds `maxBytes`. The output only grows,
 * so stopping early never turns away a payload whose complete output would have fit.
 */
export function compressWithin(input: Uint8Array, maxBytes: number): Promise<CompressOutcome> {
  const z = zlib();
  const stream = z.createBrotliCompress({
    chunkSize: OUTPUT_CHUNK_BYTES,
    params: {
      [z.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [z.constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [z.constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
    },
  });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let produced = 0;
    let settled = false;
    stream.on("data", (chunk: Buffer) => {
      if (settled) return;
      produced += chunk.length;
      if (produced > maxBytes) {
        settled = true;
        // Destroying stops zlib between chunks: the rest of the input is never compressed.
        stream.destroy();
        resolve({ fits: false, producedBytes: produced });
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => {
      if (settled) return;
      settled = true;
      resolve({ fits: true, bytes: Buffer.concat(chunks, produced) });
    });
    stream.on("error", (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
    stream.end(input);
  });
}

/** The compressed body would expand beyond the size the sender recorded or beyond the cap. */
export class DecompressionBombError extends Error {
  override readonly name = "DecompressionBombError";
}

/** The compressed body expands to fewer bytes than the sender recorded. */
export class DecompressedSizeMismatchError extends Error {
  override readonly name = "DecompressedSizeMismatchError";
}

/** The compressed body is not valid for its encoding (truncated, corrupted, not brotli). */
export class CorruptCompressedPayloadError extends Error {
  override readonly name = "CorruptCompressedPayloadError";
}

/** Bytes follow the end of the compressed stream: the body is not one valid compressed payload. */
export class TrailingCompressedBytesError extends Error {
  override readonly name = "TrailingCompressedBytesError";
}

/**
 * Decompresses to exactly `expectedSize` bytes. zlib stops as soon as the output would pass
 * `expectedSize`, so the work and memory are bounded by what the sender recorded, and the
 * recorded size itself by `maxSize`.
 */
export function decompressExact(encoded: Uint8Array, encoding: PayloadEncoding, expectedSize: number, maxSize: number): Buffer {
  if (encoding !== PAYLOAD_ENCODING) throw new CorruptCompressedPayloadError(`Unknown encoding ${JSON.stringify(encoding)}`);
  if (expectedSize > maxSize) {
    throw new DecompressionBombError(`The recorded size ${expectedSize} is more than the ${maxSize} bytes a compressed payload may expand to`);
  }
  let output: Buffer;
  let consumed: number;
  try {
    // maxOutputLength 0 is not allowed; an empty payload still decodes within a 1-byte bound.
    // `info` exposes how much input the decoder consumed: zlib stops at the end of the brotli
    // stream and silently ignores whatever follows it.
    const options = { maxOutputLength: Math.max(1, expectedSize), info: true } as Zlib.BrotliOptions;
    const result = zlib().brotliDecompressSync(encoded, options) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    output = result.buffer;
    consumed = result.engine.bytesWritten;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new DecompressionBombError(`The compressed payload expands to more than the ${expectedSize} bytes the sender recorded`);
    }
    throw new CorruptCompressedPayloadError(`The compressed payload is not valid ${encoding}: ${(error as Error).message}`);
  }
  if (consumed !== encoded.byteLength) {
    throw new TrailingCompressedBytesError(
      `The compressed payload has ${encoded.byteLength - consumed} bytes after the end of its ${encoding} stream (${consumed} of ${encoded.byteLength} bytes are the stream)`,
    );
  }
  if (output.length !== expectedSize) {
    const problem = output.length > expectedSize ? DecompressionBombError : DecompressedSizeMismatchError;
    throw new problem(`The compressed payload expands to ${output.length} bytes; the sender recorded ${expectedSize}`);
  }
  return output;
}
