/**
 * Which AWS CLI a user's shell runs, so `npm run local` can print commands that work with it:
 * v2 needs `--cli-binary-format raw-in-base64-out` to send `--payload` as is, and v1 rejects
 * that flag as an unknown option.
 */
import { execFile } from "node:child_process";

export interface AwsCli {
  readonly major: 1 | 2;
  /** As `aws --version` prints it, e.g. `aws-cli/2.27.7`. */
  readonly version: string;
}

/** There is an `aws`, but `aws --version` did not say which (it failed, or did not answer in time). */
export interface UnknownAwsCli {
  readonly unknown: string;
}

/**
 * A bound for a hung `aws`, not an expected duration: v1 is Python starting botocore, often behind a
 * pyenv shim, and on a busy machine that has taken over 20 s.
 */
export const AWS_VERSION_TIMEOUT_MS = 180_000;

/**
 * `aws --version` of this executable (default: the first `aws` on PATH): the version, an
 * {@link UnknownAwsCli} when it runs but does not tell, or undefined when there is no such program.
 */
export function awsCliVersion(file = "aws", env: NodeJS.ProcessEnv = process.env): Promise<AwsCli | UnknownAwsCli | undefined> {
  return new Promise((resolve) => {
    execFile(file, ["--version"], { env, timeout: AWS_VERSION_TIMEOUT_MS }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT") return resolve(undefined);
      // v1 on Python 2 printed its version on stderr.
      const match = /aws-cli\/([12])\.\S+/.exec(`${stdout} ${stderr}`);
      if (!error && match) return resolve({ major: Number(match[1]) as 1 | 2, version: match[0] });
      const why = error?.killed ? `gave no answer within ${AWS_VERSION_TIMEOUT_MS / 1000} s` : error ? `failed (${error.message.split("\n")[0]})` : "printed no aws-cli/ version";
      resolve({ unknown: `\`${file} --version\` ${why}` });
    });
  });
}

export function isKnown(cli: AwsCli | UnknownAwsCli | undefined): cli is AwsCli {
  return cli !== undefined && "major" in cli;
}

/** The flag v2 needs for a literal JSON `--payload`; v1 has no such option. */
export const V2_BINARY_FORMAT_FLAG = "--cli-binary-format raw-in-base64-out";
