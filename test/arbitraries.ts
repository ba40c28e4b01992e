/**
 * fast-check generators for payload content that stresses byte counting and JSON encoding:
 * ASCII, 2-, 3- and 4-byte UTF-8, JSON escapes, control characters and lone surrogates.
 */
import fc from "fast-check";
import { BINARY_INPUT_KEY } from "../lib/contract.ts";

const ascii = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const twoByte = fc.integer({ min: 0x80, max: 0x7ff }).map((c) => String.fromCharCode(c));
const threeByte = fc.integer({ min: 0x800, max: 0xffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCharCode(c));
const fourByte = fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
/** Characters JSON.stringify escapes: quote, backslash and C0 controls (incl. \u2028-style oddities). */
const escaped = fc.constantFrom('"', "\\", "\n", "\r", "\t", "\b", "\f", "\u0000", "\u001f", "\u007f", "\u2028", "\u2029", "/");
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** One character class per string, so some strings are all multi-byte and some all escapes. */
export const charClass = fc.constantFrom("ascii", "2-byte", "3-byte", "4-byte", "escapes", "mixed");
export type CharClass = "ascii" | "2-byte" | "3-byte" | "4-byte" | "escapes" | "mixed";

export function charOf(cls: CharClass): fc.Arbitrary<string> {
  switch (cls) {
    case "ascii": return ascii;
    case "2-byte": return twoByte;
    case "3-byte": return threeByte;
    case "4-byte": return fourByte;
    case "escapes": return escaped;
    case "mixed": return fc.oneof(ascii, twoByte, threeByte, fourByte, escaped, loneSurrogate);
  }
}

/** Strings mixing every class, lone surrogates included (valid in JS strings and in JSON text). */
export const nastyString = (maxLength = 64) => fc.string({ unit: charOf("mixed"), maxLength });

/** JSON values as the Lambda runtime hands them over: parsed from JSON text. */
export const jsonEvent = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    nastyString(),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(nastyString(12), tie("value"), { maxKeys: 5 }),
  ),
})).value.map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/**
 * Sender events from barely to highly compressible: a motif repeated with a share of random
 * characters (or bytes) mixed in. JSON events `{"data": ...}` have a payload of about
 * `minSize`..`maxSize` bytes; binary ones base64 text of that length.
 */
export function eventOfVaryingCompressibility(minSize: number, maxSize: number): fc.Arbitrary<unknown> {
  return fc
    .record({
      format: fc.constantFrom<"json" | "binary">("json", "binary"),
      size: fc.integer({ min: minSize, max: maxSize }),
      motif: fc.string({ minLength: 1, maxLength: 40 }),
      noise: fc.constantFrom(0, 0.05, 0.3, 0.6, 1),
      seed: fc.nat(),
    })
    .map(({ format, size, motif, noise, seed }) => {
      let state = seed;
      const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
      if (format === "binary") {
        const motifBytes = Buffer.from(motif);
        const raw = Buffer.alloc(Math.floor((size * 3) / 4));
        for (let i = 0; i < raw.length; i++) raw[i] = next() < noise ? Math.floor(next() * 256) : motifBytes[i % motifBytes.length]!;
        return { [BINARY_INPUT_KEY]: raw.toString("base64") };
      }
      let text = "";
      while (text.length < size) text += next() < noise ? String.fromCharCode(0x20 + Math.floor(next() * 0x5e)) : motif;
      return { data: text.slice(0, size - '{"data":""}'.length) };
    });
}
