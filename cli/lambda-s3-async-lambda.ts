#!/usr/bin/env node
/**
 * The package's command (`bin` in package.json): `npx lambda-s3-async-lambda terraform-module
 * --consumer ./process.ts --out modules/payload-pipeline` writes a Terraform module of the
 * pipeline for teams whose Terraform is HCL (docs/terraform-module.md).
 */
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from "./command-line.ts";

const USAGE =
  "usage: lambda-s3-async-lambda terraform-module --consumer FILE --out DIR [--runtime nodejs22.x|nodejs24.x]\n" +
  "         [--no-sender] [--no-alarms] [--create-alarm-topic] [--failure-bucket-versioning]";
const HELP = `${USAGE}

terraform-module writes a self-contained Terraform module of the pipeline into DIR: main.tf.json
(input variables for every per-instance setting, outputs, no provider or backend block) and
assets/ with the functions' zips, your consumer FILE (it exports handler, made with
createConsumerHandler) bundled into one of them. Regenerating from unchanged code writes the same
bytes. Files of yours in DIR stay; assets/ belongs to the command.

The flags fix what cannot be a variable, because it decides which resources exist or what the
bundles are built for: the runtime (default nodejs22.x), the sender function (on), the six alarms
(on), an alarm topic created by the module (off), versioning of the failure-record bucket (off).

Exit status: 0 written; 1 a bad consumer or flag value (nothing is written); 2 bad usage.`;

const OPTIONS = {
  consumer: { type: "string" },
  out: { type: "string" },
  runtime: { type: "string" },
  "no-sender": { type: "boolean" },
  "no-alarms": { type: "boolean" },
  "create-alarm-topic": { type: "boolean" },
  "failure-bucket-versioning": { type: "boolean" },
} as const;

try {
  const parsed = parseCommandLine(process.argv.slice(2), USAGE, OPTIONS, true);
  if (parsed === "help") {
    console.log(HELP);
  } else {
    const [command, ...rest] = parsed.positionals;
    if (command !== "terraform-module" || rest.length > 0) throw new UsageError(`${command === undefined ? "a command is missing" : `unknown command: ${[command, ...rest].join(" ")}`}\n${USAGE}`);
    const { consumer, out } = parsed.values;
    if (consumer === undefined || out === undefined) throw new UsageError(`--consumer and --out are required\n${USAGE}`);
    // Imported after the arguments are read: cdktf, the provider and esbuild take seconds to load.
    const { generateTerraformModule } = await import("./terraform-module.ts");
    const code = await generateTerraformModule({
      consumer,
      out,
      runtime: parsed.values.runtime,
      sender: !parsed.values["no-sender"],
      alarms: !parsed.values["no-alarms"],
      createAlarmTopic: parsed.values["create-alarm-topic"] ?? false,
      failureBucketVersioning: parsed.values["failure-bucket-versioning"] ?? false,
    });
    process.exitCode = code;
  }
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(err.message);
  process.exitCode = USAGE_EXIT_CODE;
}
