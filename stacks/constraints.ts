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

export function constraintIssues(s: ConstrainedSettings): ConstraintIssue[] {
  const issues: ConstraintIssue[] = [];
  if (s.senderFunctionName !== undefined && s.senderFunctionName === s.consumerFunctionName) {
    issues.push({
      field: "consumerFunctionName",
      fields: ["senderFunctionName", "consumerFunctionName"],
      value: s.consumerFunctionName,
      allowed: `different from senderFunctionName ("${s.senderFunctionName}")`,
    });
  }
  // A record is written up to the maximum event age after its payload; S3 rounds both expirations
  // up to midnight UTC, so one more day keeps every record's payload object readable.
  if (s.payloadExpirationDays <= s.failureRecordExpirationDays) {
    issues.push({
      field: "payloadExpirationDays",
      fields: ["payloadExpirationDays", "failureRecordExpirationDays"],
      value: s.payloadExpirationDays,
      allowed: `more than failureRecordExpirationDays (${s.failureRecordExpirationDays}), so a failure record never outlives the payload object it points at`,
    });
  }
  if (s.alarmTopicArn !== undefined && s.createAlarmTopic) {
    issues.push({
      field: "createAlarmTopic",
      fields: ["alarmTopicArn", "createAlarmTopic"],
      value: true,
      allowed: "false when alarmTopicArn is set (the alarms notify one topic: yours, or one the stack creates)",
    });
  }
  if ((s.alarmTopicArn !== undefined || s.createAlarmTopic) && !s.alarms) {
    issues.push({
      field: "alarms",
      fields: ["alarms", "alarmTopicArn", "createAlarmTopic"],
      value: false,
      allowed: "true when an alarm topic is configured (a topic without alarms would never hear anything)",
    });
  }
  if (s.failureBucketName !== undefined && s.failureBucketName === s.bucketName) {
    issues.push({
      field: "failureBucketName",
      fields: ["bucketName", "failureBucketName"],
      value: s.failureBucketName,
      allowed: "a bucket other than the payload bucket (records must never reach the payload notification)",
    });
  }
  // A repeated delivery can arrive as late as the maximum event age, so a shorter window would let
  // it be processed again.
  if (s.idempotencyExpiresAfterSeconds < s.maxEventAgeSeconds) {
    issues.push({
      field: "idempotencyExpiresAfterSeconds",
      fields: ["idempotencyExpiresAfterSeconds", "maxEventAgeSeconds"],
      value: s.idempotencyExpiresAfterSeconds,
      allowed: `at least maxEventAgeSeconds (${s.maxEventAgeSeconds}), so a duplicate that waited in Lambda's queue is still recognised`,
    });
  }
  // An SDK attempt that cannot finish within the function's timeout turns a hung endpoint into a
  // function timeout instead of an error the retry logic sees.
  const attemptMs = s.sdkConnectionTimeoutMs + s.sdkRequestTimeoutMs;
  if (attemptMs >= s.timeout * 1000) {
    issues.push({
      field: "sdkRequestTimeoutMs",
      fields: ["sdkConnectionTimeoutMs", "sdkRequestTimeoutMs", "timeout"],
      value: s.sdkRequestTimeoutMs,
      allowed: `small enough that sdkConnectionTimeoutMs + sdkRequestTimeoutMs (${attemptMs} ms) is below the function timeout (${s.timeout * 1000} ms)`,
    });
  }
  return issues;
}

/** "the a and b settings", "the a, b and c settings". */
export function settingsPhrase(fields: readonly string[], noun = "settings"): string {
  const list = fields.length <= 1 ? fields.join("") : `${fields.slice(0, -1).join(", ")} and ${fields[fields.length - 1]}`;
  return `the ${list} ${noun}`;
}
