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
{
  terraform -chdir="$dir" init -no-color -input=false &&
    # A plan changes nothing, so it must not block an apply or another plan.
    terraform -chdir="$dir" plan -no-color -input=false -lock=false -detailed-exitcode
} 2>&1 | tee "$dir/plan.txt"
exit "${PIPESTATUS[0]}"
