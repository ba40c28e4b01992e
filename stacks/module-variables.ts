/**
 * The input variables of a generated Terraform module: one per prop that makes sense per
 * instance, named after the prop in snake_case, typed, described, with the prop's default and
 * validation blocks made from the shared rules (rule-conditions.ts) and cross-setting constraints
 * (constraints.ts), so a bad value gets the construct's words.
 */
import { CONSTRAINTS, settingsPhrase, type ConstrainedField, type Wording } from "./constraints.ts";
import { PIPELINE_DEFAULTS, PROP_RULES, type PayloadPipelineProps } from "./payload-pipeline-props.ts";
import { ruleInTerraform } from "./rule-conditions.ts";

/** The structural choices, fixed when the module is generated (command flags). */
export interface ModuleShape {
  readonly sender: boolean;
  readonly alarms: boolean;
  readonly createAlarmTopic: boolean;
  readonly failureBucketVersioning: boolean;
}

export type VariableType = "string" | "number" | "bool" | "list(string)" | "map(string)";

export interface ModuleVariable {
  readonly prop: keyof PayloadPipelineProps;
  readonly type: VariableType;
  readonly description: string;
  /** Absent: the variable is required. `null`: optional, and unset unless given. */
  readonly default?: unknown;
  /** An empty list means the setting is off (no VPC), which the prop spells as leaving it out. */
  readonly emptyMeansUnset?: boolean;
  /** Only in modules of this shape. */
  readonly onlyIf?: (shape: ModuleShape) => boolean;
}

const D = PIPELINE_DEFAULTS;

/** In the order of docs/construct.md's props table. */
export const MODULE_VARIABLES: readonly ModuleVariable[] = [
  {
    prop: "namePrefix",
    type: "string",
    description: "Prefix of every name: <p>-consumer, <p>-sender, <p>-consumer-idempotency, generated bucket names, alarms. Different per instance in one account and region.",
  },
  { prop: "forceDestroy", type: "bool", default: D.forceDestroy, description: "Let destroy delete buckets that still hold objects." },
  { prop: "kmsKeyArn", type: "string", default: null, description: "KMS key of both buckets (SSE-KMS with a bucket key); the functions get exactly the KMS actions they need. Null: SSE-S3." },
  { prop: "payloadPrefix", type: "string", default: D.payloadPrefix, description: "Key prefix of payload objects, the notification filter and the IAM resources." },
  { prop: "payloadExpirationDays", type: "number", default: D.payloadExpirationDays, description: "Days before leftover payload objects expire; more than failure_record_expiration_days." },
  { prop: "failureRecordExpirationDays", type: "number", default: D.failureRecordExpirationDays, description: "Days before failure records expire." },
  { prop: "accessLogsBucketName", type: "string", default: null, description: "Existing bucket that receives the S3 server access logs of both buckets. Null: no access logging." },
  { prop: "accessLogsPrefix", type: "string", default: D.accessLogsPrefix, description: "Access logs go under <prefix>payloads/ and <prefix>failure-records/." },
  { prop: "inlineLimitBytes", type: "number", default: D.inlineLimitBytes, description: "Largest inline Event request body, in bytes." },
  { prop: "alwaysS3", type: "bool", default: D.alwaysS3, description: "Send every payload through S3." },
  { prop: "compressInline", type: "bool", default: D.compressInline, description: "Compress payloads that only fit inline compressed." },
  { prop: "deleteAfterProcessing", type: "bool", default: D.deleteAfterProcessing, description: "Delete payload objects after processing." },
  { prop: "architecture", type: "string", default: D.architecture, description: "Instruction set of both functions: arm64 or x86_64." },
  { prop: "memorySize", type: "number", default: D.memorySize, description: "Memory of each function, in MB." },
  { prop: "timeout", type: "number", default: D.timeout, description: "Timeout of each function, in seconds." },
  { prop: "consumerEphemeralStorageMb", type: "number", default: D.consumerEphemeralStorageMb, description: "The consumer's /tmp, in MB; bounds the largest streamed payload." },
  { prop: "consumerReservedConcurrency", type: "number", default: null, description: "Reserved concurrent executions of the consumer. Null: unreserved." },
  { prop: "logRetentionDays", type: "number", default: D.logRetentionDays, description: "Retention of both log groups, in days (a value CloudWatch Logs offers)." },
  { prop: "logKmsKeyArn", type: "string", default: null, description: "KMS key of both log groups; its key policy must admit CloudWatch Logs. Null: none." },
  { prop: "permissionsBoundaryArn", type: "string", default: null, description: "Permissions boundary of both roles. Null: none." },
  { prop: "rolePath", type: "string", default: D.rolePath, description: "Path of both roles." },
  { prop: "tracing", type: "bool", default: D.tracing, description: "X-Ray active tracing on both functions, with the X-Ray permissions." },
  {
    prop: "subnetIds",
    type: "list(string)",
    default: [],
    emptyMeansUnset: true,
    description: "Both functions run in these subnets (with security_group_ids); they need routes to S3, DynamoDB and Lambda. Empty: not in a VPC.",
  },
  { prop: "securityGroupIds", type: "list(string)", default: [], emptyMeansUnset: true, description: "Security groups of both functions in the VPC (with subnet_ids). Empty: not in a VPC." },
  { prop: "codeSigningConfigArn", type: "string", default: null, description: "Code signing configuration of both functions. Null: none." },
  { prop: "tags", type: "map(string)", default: {}, description: "Added to every resource of the module that takes tags (beside the provider's default_tags)." },
  { prop: "maxRetryAttempts", type: "number", default: D.maxRetryAttempts, description: "The consumer's asynchronous retries." },
  { prop: "maxEventAgeSeconds", type: "number", default: D.maxEventAgeSeconds, description: "The consumer's maximum event age, in seconds." },
  {
    prop: "idempotencyExpiresAfterSeconds",
    type: "number",
    default: D.idempotencyExpiresAfterSeconds,
    description: "How long a processed payload id absorbs repeats, in seconds; at least max_event_age_seconds.",
  },
  { prop: "sdkConnectionTimeoutMs", type: "number", default: null, description: "SDK connection timeout of both functions, in ms. Null: 2000, or 10 % of timeout if less." },
  { prop: "sdkRequestTimeoutMs", type: "number", default: null, description: "SDK request timeout of both functions, in ms. Null: 5000, or 20 % of timeout if less." },
  {
    prop: "alarmTopicArn",
    type: "string",
    default: null,
    onlyIf: (shape) => shape.alarms && !shape.createAlarmTopic,
    description: "Existing SNS topic the alarms notify. Null: the alarms notify nobody.",
  },
  { prop: "alarmEventAgeSeconds", type: "number", default: D.alarmEventAgeSeconds, onlyIf: (shape) => shape.alarms, description: "Threshold of the event-age alarm, in seconds." },
  {
    prop: "producers",
    type: "list(string)",
    default: [],
    description: "Principals allowed to send: account ids or IAM role, user or root ARNs. Each may invoke the consumer and put payload objects under the prefix.",
  },
];

export function variableName(prop: string): string {
  return prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function variablesFor(shape: ModuleShape): ModuleVariable[] {
  return MODULE_VARIABLES.filter((v) => v.onlyIf?.(shape) ?? true);
}

/**
 * The value a prop gets from its variable, as HCL: the variable itself, or for the SDK timeouts,
 * the default the construct derives from `timeout` when the variable is null.
 */
export function propExpression(prop: string): string {
  const v = `var.${variableName(prop)}`;
  if (prop === "sdkConnectionTimeoutMs") return `coalesce(${v}, min(2000, floor(var.timeout * 1000 / 10)))`;
  if (prop === "sdkRequestTimeoutMs") return `coalesce(${v}, min(5000, floor(var.timeout * 1000 / 5)))`;
  return v;
}

/** Prop names in the construct's wording, replaced by variable names. */
export function inModuleWords(text: string, props: readonly string[]): string {
  return props.reduce((out, prop) => out.replace(new RegExp(`\\b${prop}\\b`, "g"), variableName(prop)), text);
}

export interface VariableValidation {
  /** HCL boolean expression, without `${}`. */
  readonly condition: string;
  /** Terraform template text. */
  readonly errorMessage: string;
}

/**
 * The validation blocks of one variable: its rule (a null value, or an empty list where that
 * means off, is not checked), the VPC pair, and every cross-setting constraint reported on it
 * whose settings are all variables of this module.
 */
export function validationsOf(variable: ModuleVariable, all: readonly ModuleVariable[]): VariableValidation[] {
  const name = variableName(variable.prop);
  const v = `var.${name}`;
  const props = all.map((x) => x.prop as string);
  const words = (text: string) => inModuleWords(text, props);
  const validations: VariableValidation[] = [];
  const rule = PROP_RULES[variable.prop];
  if (rule !== undefined && rule.kind !== "boolean") {
    const { condition, allowed } = ruleInTerraform(rule, v);
    const skip = variable.default === null ? `${v} == null` : variable.emptyMeansUnset ? `length(${v}) == 0` : undefined;
    validations.push({
      condition: skip === undefined ? condition : `${skip} ? true : (${condition})`,
      errorMessage: `${name} = \${jsonencode(${v})} (variable): must be ${words(allowed)}`,
    });
  }
  if (variable.prop === "securityGroupIds") {
    // The construct's "set together" check, reported on whichever list is empty. On this variable
    // only: Terraform refuses validations of two variables that refer to each other.
    const [subnets, groups] = [variableName("subnetIds"), variableName("securityGroupIds")];
    const missing = `length(var.${groups}) == 0`;
    validations.push({
      condition: `(length(var.${subnets}) == 0) == (length(var.${groups}) == 0)`,
      errorMessage:
        `\${${missing} ? "${groups}" : "${subnets}"} = [] (the ${subnets} and ${groups} variables): ` +
        `must be set together with \${${missing} ? "${subnets}" : "${groups}"} (a function in a VPC needs both)`,
    });
  }
  for (const constraint of CONSTRAINTS) {
    if (constraint.field !== variable.prop || !constraint.fields.every((f) => props.includes(f))) continue;
    if (constraint.holdsInTerraform === undefined) throw new Error(`constraint on ${constraint.fields.join(", ")} has no Terraform condition`);
    const e = (field: ConstrainedField) => `(${propExpression(field)})`;
    const wording: Wording = {
      name: variableName,
      value: (field) => `\${${e(field)}}`,
      sum: (a, b) => `\${${e(a)} + ${e(b)}}`,
      times: (field, factor) => `\${${e(field)} * ${factor}}`,
    };
    validations.push({
      condition: constraint.holdsInTerraform(e),
      errorMessage: `${name} = \${jsonencode(${e(constraint.field)})} (${settingsPhrase(constraint.fields.map(variableName), "variables")}): must be ${constraint.allowed(wording)}`,
    });
  }
  return validations;
}
