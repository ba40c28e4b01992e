/**
 * Runs real Terraform and the real AWS provider on a synthesized stack, against an AWS emulator
 * (moto_server) instead of an account. The real-terraform tests and `npm run plan:local` /
 * `deploy:local` share it.
 *
 * The synthesized JSON is copied, never edited: what points it at the emulator is an override
 * file (Terraform merges `*_override.tf.json` over the configuration) that
 * - sets the provider's endpoints, fixed test credentials and path-style S3;
 * - pins the provider to the version found in the local plugin mirror. The stack asks for the
 *   hashicorp/aws version its @cdktf/provider-aws was generated for, which an offline machine
 *   may not have; the resources and arguments the stack uses exist in both;
 * - ignores `logging_config` drift on functions: moto does not return a function's
 *   LoggingConfig, so without this every plan would show an update that real AWS never would.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { findExecutable } from "./executables.ts";

export const TERRAFORM = "terraform";
export const TERRAFORM_INSTALL_HINT = "install Terraform 1.10 or later: https://developer.hashicorp.com/terraform/install";

/** Setting that names the plugin directory (the folder holding `registry.terraform.io/`). */
export const PLUGIN_DIR_ENV = "TERRAFORM_PLUGIN_DIR";
export const PLUGIN_DIR_HINT =
  `set ${PLUGIN_DIR_ENV} to a directory holding registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/terraform-provider-aws_*, ` +
  "e.g. one made with `terraform providers mirror DIR` on a machine that reaches the registry";

/** The file the emulator settings go in; Terraform merges it over cdk.tf.json. */
export const OVERRIDE_FILE = "emulator_override.tf.json";
/** S3 backend settings for a state bucket in the emulator (`terraform init -backend-config=…`). */
export const BACKEND_CONFIG_FILE = "emulator.s3.tfbackend";

/** Every service a stack of ours may use; moto serves them all on one port. */
const SERVICES = ["cloudwatch", "dynamodb", "iam", "kms", "lambda", "logs", "s3", "sns", "sqs", "sts"] as const;

export interface ProviderMirror {
  /** The directory to pass as `terraform init -plugin-dir`. */
  readonly dir: string;
  /** hashicorp/aws version found there (the highest, if several). */
  readonly version: string;
}

/** `linux_amd64`, `darwin_arm64`: the platform folder names Terraform uses. */
export function terraformPlatform(): string {
  const arch = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" }[process.arch as string] ?? process.arch;
  return `${process.platform === "win32" ? "windows" : process.platform}_${arch}`;
}

/** The hashicorp/aws versions under one plugin directory, highest first. */
function awsVersionsIn(pluginDir: string): string[] {
  const base = path.join(pluginDir, "registry.terraform.io", "hashicorp", "aws");
  let versions: string[];
  try {
    versions = readdirSync(base);
  } catch {
    return [];
  }
  return versions
    .filter((v) => {
      try {
        return readdirSync(path.join(base, v, terraformPlatform())).some((f) => f.startsWith("terraform-provider-aws"));
      } catch {
        return false;
      }
    })
    .sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
}

function mirrorIn(pluginDir: string): ProviderMirror | undefined {
  const version = awsVersionsIn(pluginDir)[0];
  return version === undefined ? undefined : { dir: pluginDir, version };
}

/** Terraform's implied local mirror directories (CLI configuration docs), in its order. */
function impliedMirrorDirs(env: NodeJS.ProcessEnv): string[] {
  const home = os.homedir();
  const dataHome = env.XDG_DATA_HOME || path.join(home, ".local", "share");
  const dataDirs = (env.XDG_DATA_DIRS || "/usr/local/share:/usr/share").split(":").filter(Boolean);
  return [path.join(home, ".terraform.d", "plugins"), ...[dataHome, ...dataDirs].map((d) => path.join(d, "terraform", "plugins"))];
}

/**
 * Finds a filesystem mirror of hashicorp/aws: the directory named by TERRAFORM_PLUGIN_DIR, else
 * Terraform's implied mirror directories, else a search of the file system (about 2 s here).
 * Throws when TERRAFORM_PLUGIN_DIR is set but holds no provider, so a typo is not silently ignored.
 */
export async function findProviderMirror(env: NodeJS.ProcessEnv = process.env): Promise<ProviderMirror | undefined> {
  const explicit = env[PLUGIN_DIR_ENV];
  if (explicit) {
    const found = mirrorIn(explicit);
    if (found === undefined) throw new Error(`${PLUGIN_DIR_ENV}=${explicit} holds no hashicorp/aws provider for ${terraformPlatform()}: ${PLUGIN_DIR_HINT}`);
    return found;
  }
  for (const dir of impliedMirrorDirs(env)) {
    const found = mirrorIn(dir);
    if (found) return found;
  }
  return searchFileSystem();
}

async function searchFileSystem(): Promise<ProviderMirror | undefined> {
  const find = findExecutable("find");
  if (find === undefined || process.platform === "win32") return undefined;
  const pattern = `*/registry.terraform.io/hashicorp/aws/*/${terraformPlatform()}/terraform-provider-aws_*`;
  const prune = ["/proc", "/sys", "/dev"].flatMap((p, i) => [...(i ? ["-o"] : []), "-path", p]);
  const args = ["/", "(", ...prune, "-o", "-name", "node_modules", "-o", "-name", ".git", ")", "-prune", "-o", "-path", pattern, "-print", "-quit"];
  const { stdout } = await promisify(execFile)(find, args, { timeout: 120_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const hit = stdout.split("\n")[0];
  if (!hit) return undefined;
  return mirrorIn(hit.slice(0, hit.indexOf(`${path.sep}registry.terraform.io${path.sep}`)));
}

export interface LocalTerraformTools {
  readonly terraform: string;
  readonly mirror: ProviderMirror;
}

/** The tools, or one line per missing tool saying what it is and how to get it. */
export async function findTerraformTools(env: NodeJS.ProcessEnv = process.env): Promise<{ tools?: LocalTerraformTools; missing: string[] }> {
  const missing: string[] = [];
  const terraform = findExecutable(TERRAFORM, env.PATH);
  if (terraform === undefined) missing.push(`terraform is not on PATH: ${TERRAFORM_INSTALL_HINT}`);
  let mirror: ProviderMirror | undefined;
  try {
    mirror = await findProviderMirror(env);
    if (mirror === undefined) missing.push(`no local mirror of the hashicorp/aws provider was found: ${PLUGIN_DIR_HINT}`);
  } catch (err) {
    missing.push((err as Error).message);
  }
  return terraform && mirror ? { tools: { terraform, mirror }, missing } : { missing };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A plan's exit code (0 no changes, 2 changes) and what it would do to each address. */
export interface PlanResult {
  readonly code: number;
  readonly changes: Record<string, string>;
}

export class TerraformError extends Error {
  override readonly name = "TerraformError";
  readonly args: readonly string[];
  readonly result: RunResult;

  constructor(
    args: readonly string[],
    result: RunResult,
  ) {
    super(`terraform ${args.join(" ")} exited with ${result.code}:\n${(result.stderr || result.stdout).trim()}`);
    this.args = args;
    this.result = result;
  }
}

type TerraformJson = {
  terraform?: { required_providers?: { aws?: { source?: string } }; backend?: Record<string, unknown> };
  resource?: Record<string, Record<string, unknown>>;
};

export interface WorkdirOptions {
  /** Keep state in `terraform.tfstate` in the working directory instead of the stack's backend. @default true */
  readonly localState?: boolean;
}

/**
 * A Terraform working directory holding a copy of one synthesized stack, pointed at an emulator.
 * `load()` again with another synth output to see what a change would plan against the same state.
 */
export interface Emulator {
  /** e.g. `http://127.0.0.1:PORT`, for every service. */
  readonly endpoint: string;
}

export class TerraformWorkdir {
  readonly dir: string;
  readonly tools: LocalTerraformTools;
  readonly emulator: Emulator;

  constructor(
    dir: string,
    tools: LocalTerraformTools,
    emulator: Emulator,
  ) {
    this.dir = dir;
    this.tools = tools;
    this.emulator = emulator;
  }

  /** Copies cdk.tf.json and assets from `stackDir`, replacing what was loaded before. */
  async load(stackDir: string, options: WorkdirOptions = {}): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(path.join(this.dir, "assets"), { recursive: true, force: true });
    if (existsSync(path.join(stackDir, "assets"))) await cp(path.join(stackDir, "assets"), path.join(this.dir, "assets"), { recursive: true });
    const text = await readFile(path.join(stackDir, "cdk.tf.json"), "utf8");
    await writeFile(path.join(this.dir, "cdk.tf.json"), text);
    const override = emulatorOverride(JSON.parse(text) as TerraformJson, this.emulator, this.tools.mirror.version, options.localState ?? true);
    await writeFile(path.join(this.dir, OVERRIDE_FILE), `${JSON.stringify(override, null, 2)}\n`);
    await writeFile(path.join(this.dir, BACKEND_CONFIG_FILE), s3BackendConfig(this.emulator));
  }

  /** Environment for terraform: no real credentials, profile or endpoint can leak in from the caller. */
  env(): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_") && (!k.startsWith("TF_") || k.startsWith("TF_LOG"))),
    );
    return {
      ...inherited,
      TF_CLI_CONFIG_FILE: "/dev/null",
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_EC2_METADATA_DISABLED: "true",
    };
  }

  /**
   * `terraform -chdir=DIR args…`; rejects with TerraformError unless the exit code is in `okCodes`.
   * With `stream`, the output is also shown as it comes.
   */
  run(args: readonly string[], okCodes: readonly number[] = [0], options: { stream?: boolean } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.tools.terraform, [`-chdir=${this.dir}`, ...args], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => {
        out.push(c);
        if (options.stream) process.stdout.write(c);
      });
      child.stderr.on("data", (c: Buffer) => {
        err.push(c);
        if (options.stream) process.stderr.write(c);
      });
      child.once("error", reject);
      child.once("close", (code) => {
        const result = { code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
        if (okCodes.includes(result.code)) resolve(result);
        else reject(new TerraformError(args, result));
      });
    });
  }

  /** `init` from the plugin mirror only; with the S3 backend, pointed at the emulator's S3. */
  init(options: { s3Backend?: boolean } = {}): Promise<RunResult> {
    return this.run([
      "init",
      "-no-color",
      "-input=false",
      `-plugin-dir=${this.tools.mirror.dir}`,
      ...(options.s3Backend ? [`-backend-config=${BACKEND_CONFIG_FILE}`] : []),
    ]);
  }

  /**
   * `terraform plan -json` with `args`: what it would do to each address ("create", "update",
   * "replace", "delete", "read" for data sources deferred to apply), from its machine-readable
   * output, so no second provider start is needed for `show -json`. Exit code 2 means changes.
   */
  async plan(args: readonly string[] = []): Promise<PlanResult> {
    const result = await this.run(["plan", "-json", "-input=false", "-detailed-exitcode", ...args], [0, 2]);
    const changes: Record<string, string> = {};
    for (const line of result.stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as { type?: string; change?: { resource?: { addr?: string }; action?: string } };
      if (message.type === "planned_change" && message.change?.resource?.addr && message.change.action) {
        changes[message.change.resource.addr] = message.change.action;
      }
    }
    return { code: result.code, changes };
  }
}

function emulatorOverride(stack: TerraformJson, emulator: Emulator, providerVersion: string, localState: boolean): object {
  const functions = Object.keys(stack.resource?.aws_lambda_function ?? {});
  return {
    terraform: {
      required_providers: { aws: { source: stack.terraform?.required_providers?.aws?.source ?? "hashicorp/aws", version: providerVersion } },
      ...(localState ? { backend: { local: { path: "terraform.tfstate" } } } : {}),
    },
    provider: {
      aws: [
        {
          access_key: "test",
          secret_key: "test",
          s3_use_path_style: true,
          skip_credentials_validation: true,
          skip_metadata_api_check: true,
          skip_requesting_account_id: true,
          endpoints: [Object.fromEntries(SERVICES.map((s) => [s, emulator.endpoint]))],
        },
      ],
    },
    ...(functions.length > 0 ? loggingConfigDriftOverride(functions) : {}),
  };
}

/**
 * The part of an override that ignores `logging_config` on these functions: moto does not return a
 * function's LoggingConfig, so every plan would show an update that real AWS never shows. Also put
 * into a generated module's directory by its test (an override file there merges into the module).
 */
export function loggingConfigDriftOverride(functionResourceNames: readonly string[]): { resource: { aws_lambda_function: Record<string, object> } } {
  return {
    resource: { aws_lambda_function: Object.fromEntries(functionResourceNames.map((name) => [name, { lifecycle: { ignore_changes: ["logging_config"] } }])) },
  };
}

function s3BackendConfig(emulator: Emulator): string {
  return [
    `endpoints = { s3 = ${JSON.stringify(emulator.endpoint)} }`,
    "use_path_style = true",
    'access_key = "test"',
    'secret_key = "test"',
    "skip_credentials_validation = true",
    "skip_metadata_api_check = true",
    "skip_region_validation = true",
    "skip_requesting_account_id = true",
    "",
  ].join("\n");
}
