/**
 * A zip whose bytes depend only on the files' names and contents, so a generated Terraform module
 * that is regenerated from unchanged code shows no diff in git. cdktf's asset zips carry file
 * times; deflate output can differ between zlib builds (Node's follows the CPU's features), so
 * the module's entries are stored uncompressed with a fixed time and mode: git and Lambda compress
 * anyway. The construct's zips are deflated (`bundleZip`): only their content hash reaches
 * Terraform, and stored entries would bring Lambda's 50 MB zipped upload limit down to 50 MB of code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { replaceFile } from "./replace-file.ts";

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
const DEFLATED = 8;

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

export interface StableZipOptions {
  /**
   * Deflate each entry. The bytes then also depend on the zlib build.
   * @default false (stored)
   */
  readonly deflate?: boolean;
}

export function stableZip(entries: readonly ZipEntry[], options: StableZipOptions = {}): Buffer {
  const method = options.deflate ? DEFLATED : STORED;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data: raw } of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = zlib.crc32(raw);
    const data = method === DEFLATED ? zlib.deflateRawSync(raw, { level: 9 }) : raw;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(NEEDED, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, nameBytes, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY, 4);
    central.writeUInt16LE(NEEDED, 6);
    central.writeUInt16LE(FLAGS, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
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

/**
 * The deflated zip of a bundle directory, written once per bundle content under the OS temporary
 * directory (like the bundles themselves); its path ends in `archive.zip`, the name cdktf gives
 * an archive asset, so the construct's asset paths did not change when it stopped using cdktf's
 * zipping (a child process per asset).
 */
export function bundleZip(bundle: { readonly dir: string; readonly contentHash: string }): string {
  const dir = path.join(os.tmpdir(), "lambda-s3-async-lambda-zips", Buffer.from(bundle.contentHash, "base64").toString("hex"));
  const file = path.join(dir, "archive.zip");
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  replaceFile(file, stableZip(filesOf(bundle.dir), { deflate: true }));
  return file;
}
