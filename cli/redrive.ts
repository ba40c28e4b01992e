/**
 * `npm run redrive -- [options]`: lists the consumer's failure records (id, route, size, error,
 * age) in its S3 on-failure destination; with `--replay`, delivers each event to the consumer
 * again and removes the record only after the consumer processed it (or its idempotency store
 * records it as processed); with `--discard`, removes the selected records that can never be
 * replayed, after a confirmation.
 *
 * Exit codes: 0 nothing left to act on (or only listed); 1 a record was kept (replay failed,
 * payload object gone, unreadable record, discard not confirmed) or AWS could not be reached;
 * 2 bad usage.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { failureRecordPrefix, formatAge, parseDuration } from "../lib/failure-records.ts";
import { canNeverReplay, redrive, type RedriveEntry, type RedriveReport } from "../lib/redrive.ts";
import { LOCAL_FAILURE_BUCKET } from "../local/cloud.ts";
import { ConfigError } from "../stacks/config.ts";
import { loadProjectConfig } from "../stacks/project-config.ts";
import { localCloudFacts } from "./local-endpoints.ts";
import { DEFAULT_LAMBDA_PORT, DEFAULT_LOCAL_LAMBDA_ENDPOINT, DEFAULT_LOCAL_S3_ENDPOINT, DEFAULT_S3_PORT } from "./ports.ts";
import { LOCAL_CREDENTIALS } from "./sender-client.ts";

const USAGE = `usage: npm run redrive -- [--replay [--dry-run]] [--id ID]... [--older-than AGE] [--newer-than AGE]
                          [--target local|aws] [--bucket NAME] [--function-name NAME] [--region REGION]
                          [--endpoint-url URL] [--s3-endpoint-url URL] [--json]

Lists the records of events the consumer failed for good (its S3 on-failure destination), oldest first.
  --replay           deliver each listed event to the consumer again; a record is removed only when the consumer
                     processed it, or its idempotency store records it as processed
  --dry-run          with --replay: check every record (payload objects still there?) and change nothing
  --discard [--yes]  remove the selected records that can never be replayed (unreadable, no payload event, or
                     the payload object is gone); needs --id or an age filter, and asks first unless --yes
  --id ID            only the record of this payload id, Lambda request id or record key (repeatable)
  --older-than AGE   only records at least this old: 90s, 15m, 2h, 3d
  --newer-than AGE   only records at most this old
  --target local     the local cloud of \`npm run local\` (default)
  --target aws       the deployed stack, with credentials and region from the standard AWS chain
  --bucket NAME      the failure bucket (terraform output failure_bucket_name); default: the configured one
  --function-name    the consumer (default: the configured consumer name)
  --region REGION    overrides AWS_REGION, AWS_DEFAULT_REGION and the configured region
  --endpoint-url URL Lambda endpoint (local default: http://127.0.0.1:${DEFAULT_LAMBDA_PORT}, npm run local's)
  --s3-endpoint-url URL
                     S3 endpoint (local default: the one the local cloud at --endpoint-url gives its
                     functions, else http://127.0.0.1:${DEFAULT_S3_PORT})
  --json             print the report as JSON instead of a table
Exit codes: 0 done, 1 a record was kept or AWS failed, 2 bad usage.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      replay: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      discard: { type: "boolean", default: false },
      yes: { type: "boolean", default: false },
      id: { type: "string", multiple: true },
      "older-than": { type: "string" },
      "newer-than": { type: "string" },
      target: { type: "string", default: "local" },
      bucket: { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      "endpoint-url": { type: "string" },
      "s3-endpoint-url": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.target !== "local" && values.target !== "aws") throw new UsageError(`--target must be "local" or "aws", got ${JSON.stringify(values.target)}`);
  if (values["dry-run"] && !values.replay) throw new UsageError("--dry-run only makes sense with --replay");
  if (values.discard && values.replay) throw new UsageError("--discard and --replay exclude each other: discard removes records that can never be replayed");
  if (values.yes && !values.discard) throw new UsageError("--yes only makes sense with --discard");
  if (values.discard && values.id === undefined && values["older-than"] === undefined && values["newer-than"] === undefined) {
    throw new UsageError("--discard removes records for good: select them with --id, --older-than or --newer-than (--older-than 0s selects every record)");
  }
  const age = (name: "older-than" | "newer-than") => {
    const text = values[name];
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) throw new UsageError(`--${name} must be an age such as 90s, 15m, 2h or 3d, got ${JSON.stringify(text)}`);
    return ms;
  };
  const filter = {
    ...(values.id !== undefined && { ids: values.id }),
    ...(age("older-than") !== undefined && { olderThanMs: age("older-than") }),
    ...(age("newer-than") !== undefined && { newerThanMs: age("newer-than") }),
  };

  const config = loadProjectConfig();
  const local = values.target === "local";
  const functionName = values["function-name"] ?? config.consumerFunctionName;
  const failureBucket = values.bucket ?? config.failureBucketName ?? (local ? LOCAL_FAILURE_BUCKET : undefined);
  if (failureBucket === undefined) {
    throw new UsageError(
      `--bucket is required with --target aws: Terraform generated the failure bucket's name. It is the stack output failure_bucket_name:\n` +
        `  npm run redrive -- --target aws --bucket "$(terraform -chdir=cdktf.out/stacks/${config.stackName} output -raw failure_bucket_name)"`,
    );
  }
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? config.region;
  const lambdaEndpoint = values["endpoint-url"] ?? (local ? DEFAULT_LOCAL_LAMBDA_ENDPOINT : undefined);
  // The SDK's retries stay on, also locally: a redrive makes many calls, and a record whose
  // delete fails after a successful replay would be replayed again.
  const common = { region, ...(local && { credentials: LOCAL_CREDENTIALS }) };
  const lambda = new LambdaClient({ ...common, ...(lambdaEndpoint !== undefined && { endpoint: lambdaEndpoint }) });
  // A local cloud on other ports: its Lambda API says where its S3 is.
  const s3Endpoint =
    values["s3-endpoint-url"] ?? (local ? ((await localCloudFacts(lambda, functionName)).s3Endpoint ?? DEFAULT_LOCAL_S3_ENDPOINT) : undefined);
  const s3 = new S3Client({ ...common, ...(s3Endpoint !== undefined && { endpoint: s3Endpoint, forcePathStyle: true }) });

  const where = `s3://${failureBucket}/${failureRecordPrefix(functionName)}`;
  try {
    if (!values.json) console.log(`Failure records of ${functionName} in ${where}${values.replay ? (values["dry-run"] ? " (dry run: nothing changes)" : "") : ""}`);
    const report = await redrive(
      { s3, lambda, failureBucket, functionName },
      {
        filter,
        replay: values.replay,
        dryRun: values["dry-run"],
        ...(values.discard && { discard: { confirm: (d: readonly RedriveEntry[]) => confirmDiscard(d, values.yes, values.json) } }),
        ...(!values.json && { onEntry: (e: RedriveEntry) => console.log(formatEntry(e)) }),
      },
    ).catch((err: unknown) => {
      const e = err as Error;
      const hint = local && /ECONNREFUSED/.test(String(e.message) + String((e as { code?: string }).code)) ? "\nIs the local cloud running? Start it with `npm run local`." : "";
      throw new RedriveFailed(`Reading ${where} failed: ${e.name}: ${e.message}${hint}`);
    });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else console.log(summary(report, values.replay, values["dry-run"], values.discard, sameTarget(argv)));
    return report.kept > 0 ? 1 : 0;
  } finally {
    lambda.destroy();
    s3.destroy();
  }
}

class RedriveFailed extends Error {}

/** Lists what --discard would remove, and asks unless --yes; any answer but "yes" keeps them. */
async function confirmDiscard(discardable: readonly RedriveEntry[], yes: boolean, json: boolean): Promise<boolean> {
  const say = (line: string) => (json ? console.error(line) : console.log(line));
  say(`${discardable.length} record${discardable.length === 1 ? "" : "s"} can never be replayed:`);
  for (const e of discardable) say(`  ${e.recordKey}
      ${canNeverReplay(e) ?? ""}`);
  if (yes) return true;
  const prompt = createInterface({ input: process.stdin, output: json ? process.stderr : process.stdout });
  try {
    const closed = new Promise<string>((resolve) => prompt.once("close", () => resolve("")));
    const answer = await Promise.race([prompt.question(`Remove ${discardable.length === 1 ? "it" : "them"} for good? Type "yes" to confirm: `), closed]);
    return answer.trim().toLowerCase() === "yes";
  } finally {
    prompt.close();
  }
}

function formatEntry(e: RedriveEntry): string {
  const s = e.summary;
  const head = s
    ? `  ${formatAge(s.ageMs).padEnd(7)} ${(s.id ?? "?").padEnd(36)} ${s.route.padEnd(6)} ${(s.size === undefined ? "?" : s.size.toLocaleString("en-US")).padStart(11)} B  ${clip(s.error, 160)}`
    : `  ${e.recordKey}`;
  const o = e.outcome;
  switch (o.kind) {
    case "listed":
      return o.gone.length === 0 ? head : `${head}\n      payload object gone: ${o.gone.join(", ")}`;
    case "would-replay":
      return `${head}\n      would replay`;
    case "replayed":
      return `${head}\n      replayed: processed without error; record removed`;
    case "already-processed":
      return `${head}\n      already processed (the consumer's idempotency store records it); record removed`;
    case "removed-elsewhere":
      return `${head}\n      removed meanwhile by another redrive`;
    case "payload-gone":
      return o.checked
        ? `${head}\n      kept: the payload object is gone (expired by the lifecycle rule, or deleted) and the consumer's idempotency store does not record the payload as processed: ${o.objects.join(", ")}`
        : `${head}\n      kept: the payload object is gone (expired by the lifecycle rule, or deleted): ${o.objects.join(", ")}; a replay removes the record only if the consumer's idempotency store records the payload as processed`;
    case "replay-failed":
      return `${head}\n      kept: ${clip(o.error, 300)}`;
    case "unreadable":
      return `${head}\n      kept: unreadable record: ${o.error}`;
    case "discarded":
      return `  removed ${e.recordKey}`;
    case "not-discarded":
      return `${head}\n      kept: ${o.why}`;
  }
}

/** The options of this run that choose where the records are, for the hint of the next command. */
function sameTarget(argv: readonly string[]): string {
  const kept = ["--target", "--bucket", "--function-name", "--region", "--endpoint-url", "--s3-endpoint-url"];
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split(/=(.*)/s);
    if (!kept.includes(name!)) continue;
    out.push(inline !== undefined ? argv[i]! : `${argv[i]} ${argv[++i] ?? ""}`);
  }
  return out.map((o) => ` ${o}`).join("");
}

function summary(r: RedriveReport, replay: boolean, dryRun: boolean, discard: boolean, target: string): string {
  const n = r.entries.length;
  const records = `${n} record${n === 1 ? "" : "s"}`;
  if (discard) return n === 0 ? "No failure records selected." : `${records}: ${r.discarded} discarded, ${r.kept} kept.`;
  if (!replay) {
    const unreadable = r.kept > 0 ? `, ${r.kept} unreadable` : "";
    return n === 0 ? "No failure records." : `${records}${unreadable}. Replay them with: npm run redrive -- --replay${target}`;
  }
  if (dryRun) return `${records}: ${n - r.kept} would be replayed, ${r.kept} would be kept.`;
  const also = [
    ...(r.alreadyProcessed > 0 ? [`${r.alreadyProcessed} already processed and removed`] : []),
    ...(r.removedElsewhere > 0 ? [`${r.removedElsewhere} removed by another redrive`] : []),
  ];
  return `${records}: ${r.replayed} replayed and removed, ${also.map((a) => `${a}, `).join("")}${r.kept} kept.`;
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ");
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError || err instanceof RedriveFailed) {
      console.error(err.message);
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
