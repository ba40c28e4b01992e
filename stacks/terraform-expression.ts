/**
 * Settings that Terraform decides instead of JavaScript: when a prop is a token (a
 * TerraformVariable's value, in a generated module), the construct cannot branch on it at
 * synthesis, so it writes the branch as a Terraform expression. These helpers write such
 * expressions as HCL text around values, the way one would write them by hand.
 *
 * cdktf's own expression builders are not used for this: in cdktf 0.21, `Op.eq(x, null)` and
 * `Op.gt(x, 0)` render their literal operand as `undefined`, and a reference inside a for
 * expression loses its `${}`.
 */
import { DefaultTokenResolver, StringConcat, Token, Tokenization, type IResolvable, type IResolveContext } from "cdktf";
import type { IConstruct } from "constructs";

/** A value Terraform resolves later: a variable, a reference, an expression. */
export function isTerraformDecided(value: unknown): boolean {
  return value !== undefined && value !== null && Token.isUnresolved(value);
}

/** An HCL expression, given as its text; renders as `${text}` (or bare inside another expression). */
class HclExpression implements IResolvable {
  readonly creationStack: string[] = [];
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  resolve(context: IResolveContext): string {
    return context.suppressBraces ? this.text : `\${${this.text}}`;
  }

  toString(): string {
    return Token.asString(this);
  }
}

export interface Hcl {
  /** An expression whose value is a string (or any value placed in a string attribute). */
  string(strings: TemplateStringsArray, ...values: unknown[]): string;
  number(strings: TemplateStringsArray, ...values: unknown[]): number;
  /** Booleans, lists and maps. */
  any(strings: TemplateStringsArray, ...values: unknown[]): any;
}

/**
 * Template tags for HCL: the literal parts are HCL, each value is rendered as an operand (tokens
 * as the expressions they stand for, in parentheses; strings, numbers, booleans, null, lists and
 * maps as HCL literals). `hcl.string`${tracing} ? "Active" : "PassThrough"``.
 */
export function hclIn(scope: IConstruct): Hcl {
  const text = (strings: TemplateStringsArray, values: unknown[]) =>
    strings.reduce((out, part, i) => out + part + (i < values.length ? operand(scope, values[i]) : ""), "");
  return {
    string: (strings, ...values) => Token.asString(new HclExpression(text(strings, values))),
    number: (strings, ...values) => Token.asNumber(new HclExpression(text(strings, values))),
    any: (strings, ...values) => Token.asAny(new HclExpression(text(strings, values))),
  };
}

/** A Terraform expression from its HCL text, as a value to give a prop or an attribute. */
export function hclExpression(text: string): IResolvable {
  return new HclExpression(text);
}

/** A value as an HCL operand. */
export function operand(scope: IConstruct, value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (isTerraformDecided(value)) return interpolationAsOperand(resolveNow(scope, value));
  if (typeof value === "string") return hclString(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => operand(scope, v)).join(", ")}]`;
  if (typeof value === "object") return `{ ${Object.entries(value).map(([k, v]) => `${hclString(k)} = ${operand(scope, v)}`).join(", ")} }`;
  throw new TypeError(`no HCL operand for ${typeof value}`);
}

/** A quoted HCL string literal: JSON escaping, plus HCL's own template sequences. */
export function hclString(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, "$${").replace(/%\{/g, "%%{");
}

/**
 * True when `value` is exactly a reference to an input variable (`${var.…}`): unlike a resource
 * attribute, a variable may be null, so an optional prop given as one needs a null branch.
 */
export function isVariableReference(scope: IConstruct, value: unknown): boolean {
  if (!isTerraformDecided(value)) return false;
  const resolved = resolveNow(scope, value);
  return typeof resolved === "string" && /^\$\{var\.[A-Za-z0-9_-]+\}$/.test(resolved);
}

/** A number or boolean as environment-variable text: a token's text is Terraform's. */
export function asText(value: unknown): string {
  return isTerraformDecided(value) ? Token.asString(value) : String(value);
}

/**
 * Resolves tokens now rather than at synthesis. References render from construct paths, which
 * are fixed when a construct is created, so the text is what synthesis would write.
 */
function resolveNow(scope: IConstruct, value: unknown): unknown {
  return Tokenization.resolve(value, { scope, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) });
}

/** `${expr}` → `(expr)`; any other text (a template around interpolations) → a quoted template. */
function interpolationAsOperand(resolved: unknown): string {
  if (typeof resolved !== "string") return JSON.stringify(resolved);
  const inner = singleInterpolation(resolved);
  if (inner === undefined) return JSON.stringify(resolved);
  // A plain reference (var.x, each.value, data.aws_partition.p.partition) needs no parentheses.
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(inner) ? inner : `(${inner})`;
}

/** The expression of a string that is one `${…}` from start to end, else undefined. */
function singleInterpolation(text: string): string | undefined {
  if (!text.startsWith("${") || !text.endsWith("}")) return undefined;
  let depth = 0;
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i === text.length - 1 ? text.slice(2, -1) : undefined;
  }
  return undefined;
}
