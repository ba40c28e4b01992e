#!/usr/bin/env bash
# The plan a pull request gets (.github/workflows/terraform-plan.yml) and `npm run plan:local`
# prints: init, then a plan that takes no state lock. Both run this script, so they run the same
# commands. Output goes to stdout and to STACK_DIR/plan.txt.
# Exit code as `terraform plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
#
#   bash cli/terraform-plan.sh cdktf.out/stacks/<stack>
#
# Extra init flags come through Terraform's own TF_CLI_ARGS_init (plan:local sets -plugin-dir).
set -uo pipefail
dir=${1:?usage: terraform-plan.sh STACK_DIR}

# STACK_DIR is generated (cdktf.out, or plan:local's temporary directory), so init's advice to put
# its lock file under version control, and to add checksums to it, is about a file nobody keeps.
drop_lock_file_advice='
  /^Terraform has created a lock file/ { skip = "paragraph"; next }
  /^Warning: Incomplete lock file information/ { skip = "warning"; next }
  skip == "paragraph" { if ($0 == "") skip = ""; next }
  skip == "warning" { if ($0 ~ /^\(where /) skip = ""; next }
  { print; fflush() }'

init_and_plan() {
  terraform -chdir="$dir" init -no-color -input=false 2>&1 | awk "$drop_lock_file_advice" || return 1
  # A plan changes nothing, so it must not block an apply or another plan.
  terraform -chdir="$dir" plan -no-color -input=false -lock=false -detailed-exitcode
}

init_and_plan 2>&1 | tee "$dir/plan.txt"
exit "${PIPESTATUS[0]}"
