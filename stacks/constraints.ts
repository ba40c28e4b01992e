/**
 * Rules that involve more than one setting, shared by the stack's settings and the construct's
 * props so both refuse the same combinations with the same words. Each issue names the settings
 * involved; the caller says where they came from.
 */

/** One bad value: which setting, what it was, and what is allowed ("must be …"). */
export interface ConstraintIssue {
  readonly field: string;
  /** Every setting the rule involves, `field` among them. */
  readonly fields: readonly string[];
  readonly value: unknown;
  readonly allowed: string;
}

export interface ConstrainedSettings {
  readonly senderFunctionName?: string | undefined;
  readonly consumerFunctionName: string;
  readonly bucketName?: string | undefined;
  readonly failureBucketName?: string | undefined;
  readonly payloadExpirationDays: number;
  readonly failureRecordExpirationDays: number;
  readonly alarms: boolean;
  readonly alarmTopicArn?: string | undefined;
  readonly createAlarmTopic: boolean;
  readonly idempotencyExpiresAfterSeconds: number;
  readonly maxEventAgeSeconds: number;
  readonly sdkConnectionTimeoutMs: number;
  readonly sdkRequestTimeoutMs: number;
  readonly timeout: number;
}

export type ConstrainedField = keyof ConstrainedSettings;

/**
 * How a rule's words name settings and quote their values: the construct and the stack write
 * names as they are and values as JavaScript has them; a generated Terraform module writes its
 * variables' names and interpolations that Terraform fills in when it reports the value.
 */
export interface Wording {
  name(field: ConstrainedField): string;
  value(field: ConstrainedField): string;
  /** The value of a + b. */
  sum(a: ConstrainedField, b: ConstrainedField): string;
  /** The value of field × factor. */
  times(field: ConstrainedField, factor: number): string;
}

/** A rule over several settings, as data: its JavaScript check, its words, and its Terraform condition. */
export interface Constraint {
  /** The setting an issue is reported on. */
  readonly field: ConstrainedField;
  /** Every setting the rule involves, `field` among them. */
  readonly fields: readonly ConstrainedField[];
  readonly holds: (s: ConstrainedSettings) => boolean;
  /** What `field` must be ("must be …"). */
  readonly allowed: (w: Wording) => string;
  /**
   * The same rule as a Terraform condition, given each setting's expression; only for rules a
   * generated Terraform module checks (the others involve settings it does not expose).
   */
  readonly holdsInTerraform?: (e: (field: ConstrainedField) => string) => string;
}

export const CONSTRAINTS: readonly Constraint[] = [
  {
    field: "consumerFunctionName",
    fields: ["senderFunctionName", "consumerFunctionName"],
    holds: (s) => s.senderFunctionName === undefined || s.senderFunctionName !== s.consumerFunctionName,
    allowed: (w) => `different from ${w.name("senderFunctionName")} ("${w.value("senderFunctionName")}")`,
  },
  // A record is written up to the maximum event age after its payload; S3 rounds both expirations
  // up to midnight UTC, so one more day keeps every record's payload object readable.
  {
    field: "payloadExpirationDays",
    fields: ["payloadExpirationDays", "failureRecordExpirationDays"],
    holds: (s) => s.payloadExpirationDays > s.failureRecordExpirationDays,
    allowed: (w) =>
      `more than ${w.name("failureRecordExpirationDays")} (${w.value("failureRecordExpirationDays")}), so a failure record never outlives the payload object it points at`,
    holdsInTerraform: (e) => `${e("payloadExpirationDays")} > ${e("failureRecordExpirationDays")}`,
  },
  {
    field: "createAlarmTopic",
    fields: ["alarmTopicArn", "createAlarmTopic"],
    holds: (s) => s.alarmTopicArn === undefined || !s.createAlarmTopic,
    allowed: (w) => `false when ${w.name("alarmTopicArn")} is set (the alarms notify one topic: yours, or one the stack creates)`,
  },
  {
    field: "alarms",
    fields: ["alarms", "alarmTopicArn", "createAlarmTopic"],
    holds: (s) => s.alarms || (s.alarmTopicArn === undefined && !s.createAlarmTopic),
    allowed: () => "true when an alarm topic is configured (a topic without alarms would never hear anything)",
  },
  {
    field: "failureBucketName",
    fields: ["bucketName", "failureBucketName"],
    holds: (s) => s.failureBucketName === undefined || s.failureBucketName !== s.bucketName,
    allowed: () => "a bucket other than the payload bucket (records must never reach the payload notification)",
  },
  // A repeated delivery can arrive as late as the maximum event age, so a shorter window would let
  // it be processed again.
  {
    field: "idempotencyExpiresAfterSeconds",
    fields: ["idempotencyExpiresAfterSeconds", "maxEventAgeSeconds"],
    holds: (s) => s.idempotencyExpiresAfterSeconds >= s.maxEventAgeSeconds,
    allowed: (w) =>
      `at least ${w.name("maxEventAgeSeconds")} (${w.value("maxEventAgeSeconds")}), so a duplicate that waited in Lambda's queue is still recognised`,
    holdsInTerraform: (e) => `${e("idempotencyExpiresAfterSeconds")} >= ${e("maxEventAgeSeconds")}`,
  },
  // An SDK attempt that cannot finish within the function's timeout turns a hung endpoint into a
  // function timeout instead of an error the retry logic sees.
  {
    field: "sdkRequestTimeoutMs",
    fields: ["sdkConnectionTimeoutMs", "sdkRequestTimeoutMs", "timeout"],
    holds: (s) => s.sdkConnectionTimeoutMs + s.sdkRequestTimeoutMs < s.timeout * 1000,
    allowed: (w) =>
      `small enough that ${w.name("sdkConnectionTimeoutMs")} + ${w.name("sdkRequestTimeoutMs")} (${w.sum("sdkConnectionTimeoutMs", "sdkRequestTimeoutMs")} ms) ` +
      `is below the function timeout (${w.times("timeout", 1000)} ms)`,
    holdsInTerraform: (e) => `${e("sdkConnectionTimeoutMs")} + ${e("sdkRequestTimeoutMs")} < ${e("timeout")} * 1000`,
  },
];

export function constraintIssues(s: ConstrainedSettings): ConstraintIssue[] {
  const text = (v: unknown) => String(v);
  const wording: Wording = {
    name: (field) => field,
    value: (field) => text(s[field]),
    sum: (a, b) => text((s[a] as number) + (s[b] as number)),
    times: (field, factor) => text((s[field] as number) * factor),
  };
  return CONSTRAINTS.filter((c) => !c.holds(s)).map((c) => ({ field: c.field, fields: c.fields, value: s[c.field], allowed: c.allowed(wording) }));
}

/** "the a and b settings", "the a, b and c settings". */
export function settingsPhrase(fields: readonly string[], noun = "settings"): string {
  const list = fields.length <= 1 ? fields.join("") : `${fields.slice(0, -1).join(", ")} and ${fields[fields.length - 1]}`;
  return `the ${list} ${noun}`;
}
