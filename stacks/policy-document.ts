/**
 * IAM policy documents whose statements may depend on settings Terraform decides: a statement
 * with `onlyIf` (an HCL boolean expression) becomes a `dynamic "statement"` block that Terraform
 * writes only when the expression is true. Documents without such statements synthesize exactly
 * as a plain `aws_iam_policy_document`.
 */
import {
  DataAwsIamPolicyDocument,
  dataAwsIamPolicyDocumentStatementToTerraform,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import type { Construct } from "constructs";
import { hclIn } from "./terraform-expression.ts";

export interface PolicyStatement extends DataAwsIamPolicyDocumentStatement {
  /**
   * Terraform boolean expression (from `hclIn(scope).any`): the statement is in the policy only
   * when it is true.
   * @default - always in the policy
   */
  readonly onlyIf?: unknown;
}

export function policyDocument(scope: Construct, id: string, statements: readonly PolicyStatement[]): DataAwsIamPolicyDocument {
  const always = statements.filter((s) => s.onlyIf === undefined);
  const conditional = statements.filter((s) => s.onlyIf !== undefined);
  const document = new DataAwsIamPolicyDocument(scope, id, { statement: always.map(withoutCondition) });
  if (conditional.length > 0) {
    const hcl = hclIn(scope);
    document.addOverride(
      "dynamic.statement",
      conditional.map((s) => ({ for_each: hcl.any`${s.onlyIf} ? [1] : []`, content: dataAwsIamPolicyDocumentStatementToTerraform(withoutCondition(s)) })),
    );
  }
  return document;
}

function withoutCondition({ onlyIf: _, ...statement }: PolicyStatement): DataAwsIamPolicyDocumentStatement {
  return statement;
}
