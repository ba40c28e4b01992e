#!/usr/bin/env bash
# Keeps docs/cdktn.md true while cdktf stays archived: applies the page's commands (its ```sh
# blocks, in order) to a temporary copy of the project, then checks what the page says:
#   - the import step changes exactly the number of files the page states;
#   - the synthesized JSON differs from this project's only in the aws provider constraint
#     (hashicorp/aws 6.66.0) and cdktf's metadata;
#   - the copy type-checks; the Node.js requirements and cdktn's typed useLockfile are as stated.
# Run by .ci/run after npm ci (it needs the registry for the npm install step).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
page="$root/docs/cdktn.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "cdktn check FAILED: $*" >&2; exit 1; }

# The project's tracked files, plus its installed node_modules (npm then only changes the cdk packages).
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$work"
cp -a "$root/node_modules" "$work/node_modules"
git -C "$work" init -q && git -C "$work" add -A && git -C "$work" -c user.name=ci -c user.email=ci@localhost commit -qm before

# The ```sh blocks of the page, in order, each to a file (the page indents them under list items).
awk -v dir="$work/.blocks" 'BEGIN { system("mkdir -p " dir) }
  /^ *```sh$/ { n++; inblock = 1; next }
  /^ *```$/ { inblock = 0; next }
  inblock { sub(/^   /, ""); print > (dir "/" n ".sh") }' "$page"
blocks=$(ls "$work/.blocks" | wc -l)
[ "$blocks" = 3 ] || fail "expected 3 command blocks in docs/cdktn.md (packages, imports, test pin), found $blocks"

echo "cdktn check: step 1, packages"
(cd "$work" && bash -euo pipefail .blocks/1.sh) >/dev/null 2>"$work/npm.err" || { cat "$work/npm.err" >&2; fail "the packages step failed"; }
echo "cdktn check: step 2, imports"
git -C "$work" add -A package.json package-lock.json && git -C "$work" -c user.name=ci -c user.email=ci@localhost commit -qm packages
(cd "$work" && bash -euo pipefail .blocks/2.sh)
changed=$(git -C "$work" diff --name-only | grep -v '^\.blocks/' | wc -l)
stated=$(grep -oE '\(([0-9]+) files, all under `stacks/`' "$page" | grep -oE '[0-9]+')
[ "$changed" = "$stated" ] || fail "the import step changed $changed files; docs/cdktn.md says $stated: $(git -C "$work" diff --name-only | tr '\n' ' ')"
left=$(cd "$work" && grep -rlE --include=*.ts --exclude-dir=node_modules 'from "(cdktf|@cdktf/provider-aws)["/]' . || true)
[ -z "$left" ] || fail "files still import cdktf after the import step: $left"
echo "cdktn check: step 3, the provider pin in the stack test"
(cd "$work" && bash -euo pipefail .blocks/3.sh)
grep -q '{ aws: { source: "hashicorp/aws", version: "6.66.0" } }' "$work/stacks/pipeline-stack.test.ts" || fail "step 3 did not change the pinned provider in stacks/pipeline-stack.test.ts"

echo "cdktn check: synthesizing both"
export TF_CLI_CONFIG_FILE=/dev/null
(cd "$root" && CDKTF_OUTDIR="$work/out-cdktf" node --import tsx main.ts >/dev/null)
(cd "$work" && CDKTF_OUTDIR="$work/out-cdktn" node --import tsx main.ts >/dev/null)
node - "$work/out-cdktf" "$work/out-cdktn" <<'JS'
const fs = require("node:fs");
const path = require("node:path");
const [before, after] = process.argv.slice(2).map((dir) => {
  const stacks = path.join(dir, "stacks");
  const [stack] = fs.readdirSync(stacks);
  return JSON.parse(fs.readFileSync(path.join(stacks, stack, "cdk.tf.json"), "utf8"));
});
const aws = (j) => j.terraform.required_providers.aws;
const rest = (j) => {
  const copy = structuredClone(j);
  delete copy["//"];
  delete copy.terraform.required_providers.aws;
  return JSON.stringify(copy);
};
const fail = (m) => { console.error(`cdktn check FAILED: ${m}`); process.exit(1); };
if (JSON.stringify(aws(after)) !== JSON.stringify({ source: "hashicorp/aws", version: "6.66.0" })) fail(`cdktn's provider constraint is ${JSON.stringify(aws(after))}`);
if (JSON.stringify(aws(before)) !== JSON.stringify({ source: "aws", version: "6.25.0" })) fail(`cdktf's provider constraint is ${JSON.stringify(aws(before))}`);
if (rest(before) !== rest(after)) fail("the synthesized JSON differs beyond the provider constraint and the metadata");
console.log("cdktn check: the JSON differs only in the aws provider constraint and the metadata");
JS

echo "cdktn check: type-checking the copy"
(cd "$work" && npx tsc -p .)

provider_node=$(node -p 'require(process.argv[1]).engines.node' "$work/node_modules/@cdktn/provider-aws/package.json")
cli_node=$(npm view cdktn-cli@0.24.0 engines.node)
echo "cdktn check: @cdktn/provider-aws needs node $provider_node, cdktn-cli $cli_node"
[ "$(echo "$provider_node" | tr -d ' ')" = ">=22.11.0" ] || fail "@cdktn/provider-aws needs node $provider_node; docs/cdktn.md says 22.11"
[ "$(echo "$cli_node" | tr -d ' ')" = ">=22.19.0" ] || fail "cdktn-cli needs node $cli_node; docs/cdktn.md says 22.19"
grep -q "useLockfile" "$work/node_modules/cdktn/lib/backends/s3-backend.d.ts" || fail "cdktn's S3 backend does not type useLockfile"
echo "cdktn check: passed"
