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

/** `aws --version` of this executable (default: the first `aws` on PATH); undefined if none runs. */
export function awsCliVersion(file = "aws", env: NodeJS.ProcessEnv = process.env): Promise<AwsCli | undefined> {
  return new Promise((resolve) => {
    execFile(file, ["--version"], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      // v1 on Python 2 printed its version on stderr.
      const match = /aws-cli\/([12])\.\S+/.exec(`${stdout} ${stderr}`);
      resolve(error || !match ? undefined : { major: Number(match[1]) as 1 | 2, version: match[0] });
    });
  });
}

/** The flag v2 needs for a literal JSON `--payload`; v1 has no such option. */
export const V2_BINARY_FORMAT_FLAG = "--cli-binary-format raw-in-base64-out";
