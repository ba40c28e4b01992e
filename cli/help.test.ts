/**
 * Every npm script's command answers --help (and -h) with its usage on stdout and exit 0, run as
 * a user runs it. (Unknown options, exit 2, are in invoke.test.ts: all share one parser.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanEnv, runScript, transcript } from "./test-support.ts";

/** The npm scripts' entry points and the package's bin (package.json), and the usage line each prints. */
const COMMANDS = [
  { script: "cli/start.ts", usage: "usage: npm start" },
  { script: "cli/local.ts", usage: "usage: npm run local -- [--lambda-port PORT] [--s3-port PORT] [--state-dir DIR] [--consumer FILE]" },
  { script: "cli/invoke.ts", usage: "usage: npm run invoke -- <file|->" },
  { script: "cli/redrive.ts", usage: "usage: npm run redrive -- [--replay [--dry-run]]" },
  { script: "cli/sample-payload.ts", usage: "usage: npm run --silent sample-payload -- [BYTES]" },
  { script: "bundling/cli.ts", usage: "usage: npm run bundle" },
  { script: "main.ts", usage: "usage: npm run synth" },
  // The package's own command (its bin), as npx runs it.
  { script: "cli/lambda-s3-async-lambda.ts", usage: "usage: lambda-s3-async-lambda terraform-module --consumer FILE --out DIR" },
] as const;

test("--help and -h print the usage and exit 0", async () => {
  // Both spellings go through the one parser (cli/command-line.ts); each command gets one of them.
  const runs = await Promise.all(
    COMMANDS.map(async ({ script, usage }, i) => {
      const flag = i % 2 === 0 ? "--help" : "-h";
      return { script, usage, flag, r: await runScript(script, [flag], { env: cleanEnv() }) };
    }),
  );
  for (const { script, usage, flag, r } of runs) {
    assert.equal(r.code, 0, `${script} ${flag}\n${transcript(r)}`);
    assert.ok(r.stdout.startsWith(usage), `${script} ${flag} prints its usage first:\n${r.stdout}`);
    assert.ok(r.stdout.split("\n").length > 3, `${script} ${flag} says more than the usage line`);
    assert.equal(r.stderr, "", `${script} ${flag} prints nothing else (no warnings)`);
  }
});

test("invoke and redrive name their endpoint options alike, and --help describes each", async () => {
  const [invoke, redrive] = await Promise.all(["cli/invoke.ts", "cli/redrive.ts"].map((script) => runScript(script, ["--help"], { env: cleanEnv() })));
  for (const [name, r] of [["invoke", invoke!], ["redrive", redrive!]] as const) {
    assert.equal(r.code, 0, transcript(r));
    // The option, then (on its line or the next) what it is.
    assert.match(r.stdout, /^ {2}--endpoint-url URL\s+Lambda endpoint \(local default: http:\/\/127\.0\.0\.1:3001/m, `${name} --help describes --endpoint-url`);
    assert.match(r.stdout, /^ {2}--s3-endpoint-url URL\s+S3 endpoint[^]*?the one the local\s+cloud at --endpoint-url gives its\s+functions/m, `${name} --help describes --s3-endpoint-url`);
    assert.doesNotMatch(r.stdout, /--lambda-endpoint|--s3-endpoint(?!-url)/, `${name} uses no other spelling`);
  }
});
