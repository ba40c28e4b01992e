/** Finds programs the way a shell would, so a missing tool can be named before anything starts. */
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/** Absolute path of `name` on PATH, or undefined. */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ""): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
