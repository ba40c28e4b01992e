/**
 * Argument parsing shared by the npm-script CLIs, so every one of them answers `--help` and `-h`
 * the same way (usage on stdout, exit 0) and reports bad usage the same way (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Bad usage: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE_EXIT_CODE = 2;

const HELP = { help: { type: "boolean", short: "h" } } as const;

/**
 * What `parseArgs` returns for these options, spelled out: the package's command is published with
 * type declarations, and the type parseArgs infers names a type of node:util that cannot be named.
 */
export interface CommandLine<O extends OptionsConfig> {
  values: { [K in keyof O as O[K] extends { readonly default: unknown } ? K : never]: OptionValue<O[K]> } & {
    [K in keyof O as O[K] extends { readonly default: unknown } ? never : K]?: OptionValue<O[K]>;
  };
  positionals: string[];
}
type OptionValue<C> = C extends { readonly type: "boolean" } ? boolean : string;

/**
 * `parseArgs` in strict mode plus `--help`/`-h`; returns `"help"` when either is given, and
 * turns parseArgs' own errors (unknown option, missing value) into a UsageError with the usage.
 */
export function parseCommandLine<const O extends OptionsConfig>(args: string[], usage: string, options: O, allowPositionals = false): CommandLine<O> | "help" {
  const config = { args, options: { ...options, ...HELP }, allowPositionals, strict: true } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    if (typeof (err as { code?: unknown }).code === "string" && (err as { code: string }).code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError(`${(err as Error).message}\n${usage}`);
    }
    throw err;
  }
  if ((parsed.values as { help?: boolean }).help) return "help" as const;
  return parsed as unknown as CommandLine<O>;
}
