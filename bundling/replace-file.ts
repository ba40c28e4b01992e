import { renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Writes `file` beside itself and renames it into place, so a reader in another process (another
 * synthesis, another test) sees the old content or the new, never half a file.
 */
export function replaceFile(file: string, data: string | Uint8Array): void {
  const staging = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(staging, data);
    renameSync(staging, file);
  } finally {
    rmSync(staging, { force: true });
  }
}
