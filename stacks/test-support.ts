/**
 * Shared by the stack tests: bundles built once per test file, config from a plain context
 * object, and a small reader for synthesized Terraform JSON that follows `${...}` references.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { Testing } from "cdktf";
import { getToHaveResourceWithProperties, type TerraformConstructor } from "cdktf/lib/testing/matchers.js";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { loadStackConfig, type Environment, type StackConfig } from "./config.ts";
import { PipelineStack } from "./pipeline-stack.ts";

export type Bundles = Record<FunctionRole, Bundle>;

export { bundleToTempDir as buildTestBundles } from "../bundling/temp-bundles.ts";

export function configFrom(context: Record<string, unknown> = {}, env: Environment = {}): StackConfig {
  return loadStackConfig({ tryGetContext: (key) => context[key] }, env);
}

/** Synthesizes a stack the way `Testing` does (no asset zips), parsed. */
export function synthesize(config: StackConfig, outdir: string): TfJson {
  mkdirSync(outdir, { recursive: true });
  const stack = new PipelineStack(Testing.app({ outdir }), config.stackName, { config });
  return new TfJson(Testing.synth(stack));
}

type Block = Record<string, unknown>;

export class TfJson {
  readonly json: Record<string, Record<string, Record<string, Block>>>;

  readonly text: string;

  constructor(text: string) {
    this.text = text;
    this.json = JSON.parse(text);
  }

  /** Resources (or data sources with `kind: "data"`) of one type, by logical name. */
  all(type: string, kind: "resource" | "data" = "resource"): Record<string, Block> {
    return (this.json[kind]?.[type] ?? {}) as Record<string, Block>;
  }

  /** The single block of a type; fails if there are none or several. */
  only(type: string, kind: "resource" | "data" = "resource"): { name: string; block: Block; ref: (attr: string) => string } {
    const entries = Object.entries(this.all(type, kind));
    assert.equal(entries.length, 1, `expected exactly one ${kind} ${type}, found ${entries.map(([n]) => n).join(", ") || "none"}`);
    const [name, block] = entries[0]!;
    return { name, block, ref: (attr) => this.ref(type, name, attr, kind) };
  }

  /** The single block of a type inside one construct (logical names start with its id). */
  within(scope: string, type: string): { name: string; block: Block; ref: (attr: string) => string } {
    const entries = Object.entries(this.all(type)).filter(([name]) => name.startsWith(`${scope}_`));
    assert.equal(entries.length, 1, `expected exactly one ${type} in ${scope}, found ${entries.map(([n]) => n).join(", ") || "none"}`);
    const [name, block] = entries[0]!;
    return { name, block, ref: (attr) => this.ref(type, name, attr) };
  }

  /** The block whose attribute has a value, e.g. the function named "SendPayloadFunction". */
  find(type: string, attribute: string, value: unknown): { name: string; block: Block; ref: (attr: string) => string } {
    const matches = Object.entries(this.all(type)).filter(([, block]) => block[attribute] === value);
    assert.equal(matches.length, 1, `expected one ${type} with ${attribute} = ${JSON.stringify(value)}, found ${matches.length}`);
    const [name, block] = matches[0]!;
    return { name, block, ref: (attr) => this.ref(type, name, attr) };
  }

  ref(type: string, name: string, attr: string, kind: "resource" | "data" = "resource"): string {
    return kind === "data" ? `\${data.${type}.${name}.${attr}}` : `\${${type}.${name}.${attr}}`;
  }

  /** Follows a whole-string reference such as `${aws_iam_role.x.arn}` to its block. */
  deref(expression: unknown): { type: string; name: string; block: Block } {
    const match = typeof expression === "string" ? /^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z0-9_]+\}$/.exec(expression) : null;
    assert.ok(match, `expected a reference, got ${JSON.stringify(expression)}`);
    const [, data, type, name] = match;
    const block = this.all(type!, data ? "data" : "resource")[name!];
    assert.ok(block, `${expression} points to nothing`);
    return { type: type!, name: name!, block };
  }

  /** Uses cdktf's own matcher, for its failure message. */
  assertHas(resourceType: TerraformConstructor, properties: Record<string, unknown>): void {
    const result = getToHaveResourceWithProperties()(this.text, resourceType, properties);
    assert.ok(result.pass, result.message);
  }
}
