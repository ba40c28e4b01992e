/**
 * `npm run plan:local` and `npm run deploy:local`: the real Terraform plan of the whole stack with
 * no AWS account. Synthesizes, starts moto_server (an AWS emulator) on loopback, runs the same
 * init-and-plan script as the pull request workflow with the provider from a local plugin mirror,
 * and (deploy) applies and prints the outputs. The emulator and its state are thrown away at exit.
 *
 *   npm run plan:local
 *   npm run deploy:local          (plan:local -- --apply)
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { PROJECT_ROOT } from "../bundling/bundle.ts";
import { findExecutable } from "../local/executables.ts";
import { MOTO_INSTALL_HINT, MOTO_SERVER, startMotoServer, type MotoServer } from "../local/moto-server.ts";
import { findTerraformTools, TerraformError, TerraformWorkdir } from "../local/terraform.ts";
import { synthesizeApp } from "../stacks/app.ts";
import { ConfigError } from "../stacks/config.ts";

const USAGE = `usage: npm run plan:local [-- --apply]    (npm run deploy:local is plan:local -- --apply)

Plans (and with --apply, applies) the synthesized stack against moto_server, an AWS emulator on
127.0.0.1, with real Terraform and the hashicorp/aws provider from a local plugin mirror. Needs
terraform, a provider mirror (TERRAFORM_PLUGIN_DIR, or found on disk) and moto_server; no AWS account.
Exit code: 0 when the plan (and apply) succeeded, 1 when something failed, 2 on bad usage.`;

export const PLAN_SCRIPT = path.join(PROJECT_ROOT, "cli", "terraform-plan.sh");
const PLAN_FILE = "local.tfplan";

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { apply: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const { tools, missing } = await findTerraformTools();
  const moto = findExecutable(MOTO_SERVER);
  if (!moto) missing.push(`${MOTO_SERVER} (an AWS emulator) is not on PATH: ${MOTO_INSTALL_HINT}`);
  if (!tools || !moto) {
    console.error(`Cannot run a local plan:\n${missing.map((m) => `  - ${m}`).join("\n")}`);
    return 1;
  }

  const { stackFile, config } = await synthesizeApp();
  console.log(`Synthesized ${path.relative(process.cwd(), stackFile)}`);

  const dir = await mkdtemp(path.join(os.tmpdir(), "plan-local-"));
  let server: MotoServer | undefined;
  const cleanup = async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    server = await startMotoServer(moto);
    const work = new TerraformWorkdir(dir, tools, server);
    await work.load(path.dirname(stackFile));
    console.log(
      `Planning against moto_server at ${server.endpoint} with hashicorp/aws ${tools.mirror.version} from ${tools.mirror.dir}` +
        ` (the stack asks for the version its bindings target; the emulator override pins the mirror's; see README)\n`,
    );
    const planCode = await runPlanScript(work, tools.mirror.dir, values.apply ? PLAN_FILE : undefined);
    if (planCode !== 0 && planCode !== 2) return 1;
    if (!values.apply) {
      console.log("\nNothing was created: that was a plan against an emulator. `npm run deploy:local` applies it there; the README's \"Deploy with Terraform\" deploys to AWS.");
      return 0;
    }

    console.log("\nApplying that plan to the emulator …");
    await work.run(["apply", "-no-color", "-input=false", PLAN_FILE], [0], { stream: true });
    const outputs = await work.run(["output", "-no-color"]);
    console.log(`\nOutputs of ${config.stackName} in the emulator (thrown away when this command exits):\n${outputs.stdout}`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

/**
 * The pull request workflow's script, with the init flag that takes the provider from the mirror
 * and, to apply exactly what was shown, the plan saved to `planFile`.
 */
function runPlanScript(work: TerraformWorkdir, pluginDir: string, planFile: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [PLAN_SCRIPT, work.dir], {
      env: {
        ...work.env(),
        // Terraform's own switch for scripted runs: no "Try running terraform plan" after init.
        TF_IN_AUTOMATION: "true",
        PATH: `${path.dirname(work.tools.terraform)}${path.delimiter}${process.env.PATH ?? ""}`,
        TF_CLI_ARGS_init: `-plugin-dir=${pluginDir}`,
        ...(planFile ? { TF_CLI_ARGS_plan: `-out=${planFile}` } : {}),
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.once("error", reject);
    child.once("close", (code) => resolve(code ?? 1));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const badUsage = (err as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS_") ?? false;
    if (badUsage) console.error(`${(err as Error).message}\n${USAGE}`);
    else if (err instanceof ConfigError || err instanceof TerraformError) console.error(err.message);
    else console.error(err);
    process.exit(badUsage ? 2 : 1);
  },
);
