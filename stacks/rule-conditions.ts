/**
 * The shared validation rules (rules.ts) as Terraform: for each rule, a condition over a value's
 * expression and the "must be …" wording as a Terraform template, so a generated module refuses
 * what the construct refuses, in the same words.
 */
import { allowedBy, BUCKET_NAME_CHECKS, TAG_CHARS, TAG_LIMITS, type Rule } from "./rules.ts";
import { hclString } from "./terraform-expression.ts";

export interface RuleInTerraform {
  /** HCL boolean expression: true when the value keeps the rule. */
  readonly condition: string;
  /** What is allowed, as Terraform template text (it may interpolate the value, as S3 names do). */
  readonly allowed: string;
}

/** `v` is the value's HCL expression, e.g. `var.name_prefix`. */
export function ruleInTerraform(rule: Rule, v: string): RuleInTerraform {
  const literal = templateText(allowedBy(rule));
  switch (rule.kind) {
    case "pattern":
      return { condition: matches(rule.pattern, v), allowed: literal };
    case "integer":
      return { condition: `${v} == floor(${v}) && ${v} >= ${rule.min} && ${v} <= ${rule.max}`, allowed: literal };
    case "oneOf":
      return { condition: `contains([${rule.values.map((x) => (typeof x === "string" ? hclString(x) : String(x))).join(", ")}], ${v})`, allowed: literal };
    case "boolean":
      // A bool variable: Terraform's type check refuses anything else, in its own words.
      return { condition: "true", allowed: literal };
    case "list":
      return {
        condition: `length(${v}) >= ${rule.minItems} && length(${v}) <= ${rule.maxItems} && alltrue([for item in ${v} : ${matches(rule.item.pattern, "item")}])`,
        allowed: literal,
      };
    case "tags": {
      const chars = (x: string) => matches(TAG_CHARS, x);
      return {
        condition:
          `length(${v}) <= ${TAG_LIMITS.tags} && alltrue([for k, value in ${v} : length(k) >= 1 && length(k) <= ${TAG_LIMITS.keyLength} && ` +
          `length(value) <= ${TAG_LIMITS.valueLength} && ${chars("k")} && ${chars("value")} && !startswith(lower(k), ${hclString(TAG_LIMITS.reservedKeyPrefix)})])`,
        allowed: literal,
      };
    }
    case "bucketName": {
      const broken = BUCKET_NAME_CHECKS.map((c) => `${c.terraform(v)} ? ${hclString(c.broken)} : ""`);
      return {
        condition: `!(${BUCKET_NAME_CHECKS.map((c) => `(${c.terraform(v)})`).join(" || ")})`,
        // try(): Terraform evaluates the message even for a value that passes, null included.
        allowed: `a valid S3 bucket name: \${try(join("; ", compact([${broken.join(", ")}])), "")}`,
      };
    }
  }
}

/**
 * `can(regex(…))` for a pattern written for RE2 as well (rules.ts). Flags other than `u` have no
 * RE2 spelling here, so a rule with one is refused rather than checked differently.
 */
function matches(pattern: RegExp, v: string): string {
  if (pattern.flags.replace("u", "") !== "") throw new Error(`rule pattern ${pattern} has flags Terraform's regex() cannot follow`);
  return `can(regex(${hclString(pattern.source)}, ${v}))`;
}

/** Literal text inside a Terraform template: its own sequences escaped. */
export function templateText(text: string): string {
  return text.replace(/\$\{/g, "$${").replace(/%\{/g, "%%{");
}
