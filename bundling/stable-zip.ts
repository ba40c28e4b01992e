/**
 * A zip whose bytes depend only on the files' names and contents, so a generated Terraform module
 * that is regenerated from unchanged code shows no diff in git. cdktf's asset zips carry file
 * times; deflate output can differ between zlib builds (Node's follows the CPU's features), so
 * entries are stored uncompressed with a fixed time and mode: git and Lambda compress anyway.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** 1980-01-01 00:00:00, the earliest time a zip (MS-DOS) date can hold. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** Made by UNIX (3), zip spec 2.0; needed to extract: 2.0. */
const MADE_BY = (3 << 8) | 20;
const NEEDED = 20;
/** rw-r--r-- regular file, in the high bytes of the external attributes. */
const FILE_MODE = 0o100644;
/** Bit 11: names are UTF-8. */
const FLAGS = 1 << 11;
const STORED = 0;

export interface ZipEntry {
  /** Path inside the zip, with forward slashes. */
  readonly name: string;
  readonly data: Buffer;
}

/** Every regular file under `dir`, named relative to it, in code point order. */
export function filesOf(dir: string): ZipEntry[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    // `parentPath` came in Node 20.12; `path` is its older name.
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .map((file) => ({ name: path.relative(dir, file).split(path.sep).join("/"), data: readFileSync(file) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function stableZip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(NEEDED, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(STORED, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, nameBytes, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY, 4);
    central.writeUInt16LE(NEEDED, 6);
    central.writeUInt16LE(FLAGS, 8);
    central.writeUInt16LE(STORED, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    // Extra field, comment, disk number, internal attributes: none.
    central.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  if (offset > 0xffffffff || entries.length > 0xffff) throw new Error("stableZip writes no Zip64: the bundle is too large for a plain zip");
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE), as zip wants it; `zlib.crc32` is newer than the Node versions we support. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
