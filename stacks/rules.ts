/**
 * What a setting may be, as data: the construct validates its props with these rules, the stack
 * its STACK_* settings, and the Terraform module generator turns the same rules into `validation`
 * blocks, so a bad value gets the same message everywhere. Patterns are written for RE2 too
 * (no lookaround, no backreferences), because Terraform's `regex()` is RE2.
 */

export type Rule =
  | { readonly kind: "pattern"; readonly pattern: RegExp; readonly allowed: string }
  | { readonly kind: "integer"; readonly min: number; readonly max: number; readonly unit?: string }
  | { readonly kind: "oneOf"; readonly values: readonly (string | number)[] }
  | { readonly kind: "boolean" }
  | { readonly kind: "bucketName" }
  | { readonly kind: "tags" }
  | { readonly kind: "list"; readonly item: Rule & { readonly kind: "pattern" }; readonly minItems: number; readonly maxItems: number; readonly allowed: string };

/** Thrown by {@link parseRule}: the value is not allowed; `allowed` says what is. */
export class NotAllowed extends Error {
  readonly allowed: string;

  constructor(allowed: string) {
    super(allowed);
    this.allowed = allowed;
  }
}

/** What the rule allows, as the end of "must be …". */
export function allowedBy(rule: Rule): string {
  switch (rule.kind) {
    case "pattern":
    case "list":
      return rule.allowed;
    case "integer":
      return `an integer from ${rule.min} to ${rule.max}${rule.unit ?? ""}`;
    case "oneOf":
      return `one of ${rule.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "boolean":
      return 'true or false (the string "true" or "false" in an environment variable)';
    case "bucketName":
      return "a valid S3 bucket name";
    case "tags":
      return TAGS_ALLOWED;
  }
}

/**
 * The value as the rule's type, or NotAllowed. Strings stand for numbers and booleans, because
 * environment variables and Terraform variables can only carry strings.
 */
export function parseRule(rule: Rule, value: unknown): unknown {
  switch (rule.kind) {
    case "pattern":
      if (typeof value !== "string" || !rule.pattern.test(value)) throw new NotAllowed(rule.allowed);
      return value;
    case "integer": {
      const n = typeof value === "number" ? value : typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n < rule.min || n > rule.max) throw new NotAllowed(allowedBy(rule));
      return n;
    }
    case "oneOf": {
      const candidate = typeof value === "string" && typeof rule.values[0] === "number" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
      if (!rule.values.includes(candidate as string | number)) throw new NotAllowed(allowedBy(rule));
      return candidate;
    }
    case "boolean":
      if (value === true || value === "true") return true;
      if (value === false || value === "false") return false;
      throw new NotAllowed(allowedBy(rule));
    case "bucketName": {
      if (typeof value !== "string") throw new NotAllowed("a string following the S3 bucket naming rules");
      const broken = bucketNameViolations(value);
      if (broken.length > 0) throw new NotAllowed(`a valid S3 bucket name: ${broken.join("; ")}`);
      return value;
    }
    case "tags":
      return parseTags(value);
    case "list":
      if (!Array.isArray(value) || value.length < rule.minItems || value.length > rule.maxItems || !value.every((v) => typeof v === "string" && rule.item.pattern.test(v))) {
        throw new NotAllowed(rule.allowed);
      }
      return [...value];
  }
}

/**
 * S3 general purpose bucket naming rules, each with what a name breaks, the JavaScript test and
 * the same test as a Terraform expression over the name's expression `n`.
 */
export const BUCKET_NAME_CHECKS: readonly { readonly broken: string; readonly test: (name: string) => boolean; readonly terraform: (n: string) => string }[] = [
  { broken: "3 to 63 characters long", test: (n) => n.length < 3 || n.length > 63, terraform: (n) => `length(${n}) < 3 || length(${n}) > 63` },
  { broken: "only lowercase letters, digits, dots and hyphens", test: (n) => !/^[a-z0-9.-]*$/.test(n), terraform: (n) => `!can(regex("^[a-z0-9.-]*$", ${n}))` },
  {
    broken: "begins and ends with a letter or digit",
    test: (n) => !/^[a-z0-9]/.test(n) || !/[a-z0-9]$/.test(n),
    terraform: (n) => `!can(regex("^[a-z0-9]", ${n})) || !can(regex("[a-z0-9]$", ${n}))`,
  },
  { broken: "no two adjacent dots", test: (n) => n.includes(".."), terraform: (n) => `strcontains(${n}, "..")` },
  { broken: "not formatted as an IP address", test: (n) => /^\d{1,3}(\.\d{1,3}){3}$/.test(n), terraform: (n) => `can(regex("^[0-9]{1,3}([.][0-9]{1,3}){3}$", ${n}))` },
  ...["xn--", "sthree-", "amzn-s3-demo-"].map((prefix) => ({
    broken: `does not start with "${prefix}"`,
    test: (n: string) => n.startsWith(prefix),
    terraform: (n: string) => `startswith(${n}, "${prefix}")`,
  })),
  ...["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].map((suffix) => ({
    broken: `does not end with "${suffix}"`,
    test: (n: string) => n.endsWith(suffix),
    terraform: (n: string) => `endswith(${n}, "${suffix}")`,
  })),
];

/** S3 general purpose bucket naming rules; returns the rules a name breaks. */
export function bucketNameViolations(name: string): string[] {
  return BUCKET_NAME_CHECKS.filter((c) => c.test(name)).map((c) => c.broken);
}

export const TAGS_ALLOWED =
  'a JSON object of at most 50 tags, keys 1-128 and values 0-256 characters from letters, digits, spaces and _ . : / = + - @, keys not starting with "aws:"';
/** Also RE2 (Terraform's `regex()`), which knows the same Unicode classes. */
export const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
export const TAG_LIMITS = { tags: 50, keyLength: 128, valueLength: 256, reservedKeyPrefix: "aws:" } as const;

function parseTags(value: unknown): Record<string, string> {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new NotAllowed(TAGS_ALLOWED);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new NotAllowed(TAGS_ALLOWED);
  const entries = Object.entries(parsed);
  const ok =
    entries.length <= TAG_LIMITS.tags &&
    entries.every(
      ([k, v]) =>
        typeof v === "string" &&
        k.length >= 1 &&
        k.length <= TAG_LIMITS.keyLength &&
        v.length <= TAG_LIMITS.valueLength &&
        TAG_CHARS.test(k) &&
        TAG_CHARS.test(v) &&
        !k.toLowerCase().startsWith(TAG_LIMITS.reservedKeyPrefix),
    );
  if (!ok) throw new NotAllowed(TAGS_ALLOWED);
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Rules shared by the construct's props and the stack's settings. */
export const RULES = {
  functionName: { kind: "pattern", pattern: /^[A-Za-z0-9_-]{1,64}$/, allowed: "1 to 64 letters, digits, hyphens or underscores" },
  /**
   * Characters S3 calls safe, minus `*`: the prefix also lands in IAM resource ARNs, where `*` and
   * `?` are wildcards, and in Terraform strings, where `${` would interpolate.
   */
  payloadPrefix: {
    kind: "pattern",
    pattern: /^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()\/-]{0,511}$/,
    allowed: 'a key prefix of 1 to 512 characters from letters, digits and ! - _ . \' ( ) /, not starting with "/" (e.g. "payloads/")',
  },
  kmsKeyArn: {
    kind: "pattern",
    pattern: /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    allowed: 'a KMS key ARN, "arn:<partition>:kms:<region>:<account>:key/<key-id>" (not an alias)',
  },
  snsTopicArn: {
    kind: "pattern",
    pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    allowed: 'an SNS topic ARN, "arn:<partition>:sns:<region>:<account>:<topic-name>" (not FIFO)',
  },
  bucketName: { kind: "bucketName" },
  tags: { kind: "tags" },
  boolean: { kind: "boolean" },
  payloadExpirationDays: { kind: "integer", min: 1, max: 2_147_483_647, unit: " days" },
  failureRecordExpirationDays: { kind: "integer", min: 1, max: 2_147_483_646, unit: " days" },
  inlineLimitBytes: { kind: "integer", min: 1, max: 1_048_576, unit: " bytes" },
  runtime: { kind: "oneOf", values: ["nodejs22.x", "nodejs24.x"] },
  architecture: { kind: "oneOf", values: ["arm64", "x86_64"] },
  memorySize: { kind: "integer", min: 128, max: 10_240, unit: " MB" },
  ephemeralStorageMb: { kind: "integer", min: 512, max: 10_240, unit: " MB" },
  timeout: { kind: "integer", min: 1, max: 900, unit: " seconds" },
  logRetentionDays: { kind: "oneOf", values: [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] },
  maxRetryAttempts: { kind: "integer", min: 0, max: 2 },
  maxEventAgeSeconds: { kind: "integer", min: 60, max: 21_600, unit: " seconds" },
  idempotencyExpiresAfterSeconds: { kind: "integer", min: 60, max: 31_536_000, unit: " seconds" },
  sdkTimeoutMs: { kind: "integer", min: 1, max: 900_000, unit: " ms" },
  alarmEventAgeSeconds: { kind: "integer", min: 60, max: 21_600, unit: " seconds" },
  /** Name prefix of an embedded pipeline: room for "-failures-" in S3's 37-character generated-name prefix. */
  namePrefix: {
    kind: "pattern",
    pattern: /^[a-z][a-z0-9-]{0,22}[a-z0-9]$/,
    allowed: "2 to 24 characters: a lowercase letter, then lowercase letters, digits or hyphens, not ending with a hyphen",
  },
  iamPolicyArn: {
    kind: "pattern",
    pattern: /^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/[\w+=,.@\/-]{1,512}$/,
    allowed: 'an IAM policy ARN, "arn:<partition>:iam::<account>:policy/<name>"',
  },
  rolePath: {
    kind: "pattern",
    pattern: /^\/([\x21-\x7e]{0,510}\/)?$/,
    allowed: 'an IAM path: "/" or a path that begins and ends with "/", at most 512 printable ASCII characters',
  },
  reservedConcurrency: { kind: "integer", min: 1, max: 1_000_000 },
  subnetIds: {
    kind: "list",
    item: { kind: "pattern", pattern: /^subnet-[0-9a-f]{8,17}$/, allowed: "a subnet id" },
    minItems: 1,
    maxItems: 16,
    allowed: 'a list of 1 to 16 subnet ids ("subnet-0123456789abcdef0"), together with securityGroupIds',
  },
  securityGroupIds: {
    kind: "list",
    item: { kind: "pattern", pattern: /^sg-[0-9a-f]{8,17}$/, allowed: "a security group id" },
    minItems: 1,
    maxItems: 5,
    allowed: 'a list of 1 to 5 security group ids ("sg-0123456789abcdef0"), together with subnetIds',
  },
  codeSigningConfigArn: {
    kind: "pattern",
    pattern: /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:code-signing-config:csc-[a-z0-9]{17}$/,
    allowed: 'a code signing config ARN, "arn:<partition>:lambda:<region>:<account>:code-signing-config:csc-<17 characters>"',
  },
  logKmsKeyArn: {
    kind: "pattern",
    pattern: /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    allowed: 'a KMS key ARN, "arn:<partition>:kms:<region>:<account>:key/<key-id>", whose key policy lets CloudWatch Logs use it',
  },
  accessLogsPrefix: {
    kind: "pattern",
    pattern: /^[A-Za-z0-9!_.'()\/-]{0,512}$/,
    allowed: "a key prefix of at most 512 characters from letters, digits and ! - _ . ' ( ) /",
  },
  producers: {
    kind: "list",
    item: {
      kind: "pattern",
      pattern: /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@\/-]{1,512}|user\/[\w+=,.@\/-]{1,512}))$/,
      allowed: "an account id or an IAM role, user or root ARN",
    },
    minItems: 0,
    maxItems: 50,
    allowed: 'a list of at most 50 producers, each an account id ("111122223333") or an IAM role, user or root ARN ("arn:aws:iam::111122223333:role/reporting")',
  },
} as const satisfies Record<string, Rule>;

export type RuleName = keyof typeof RULES;
