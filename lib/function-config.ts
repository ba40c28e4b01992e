/**
 * Each function's configuration, read once at start-up from the variables named in the contract.
 */
import { DEFAULTS, ENV } from "./contract.ts";
import { boolean, integerInRange, optionalString, requiredString } from "./env.ts";
import { sdkTimeouts, type SdkTimeouts } from "./sdk-timeouts.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface SenderConfig {
  readonly bucket: string;
  readonly prefix: string;
  readonly consumerFunction: string;
  readonly inlineLimitBytes: number;
  readonly alwaysS3: boolean;
  readonly compressInline: boolean;
  readonly sdkTimeouts: SdkTimeouts;
}

export interface ConsumerConfig {
  readonly bucket: string;
  readonly prefix: string;
  readonly deleteAfterProcessing: boolean;
  readonly idempotency: IdempotencySettings;
  readonly sdkTimeouts: SdkTimeouts;
  /** Above this size a payload object is verified while spooling to ephemeral storage, not buffered. */
  readonly streamAboveBytes: number;
}

export interface IdempotencySettings {
  readonly tableName: string;
  /** Powertools' name: how long a COMPLETED record absorbs repeated deliveries. */
  readonly expiresAfterSeconds: number;
}

export function senderConfig(env: Env): SenderConfig {
  return {
    bucket: requiredString(env, ENV.bucket),
    prefix: optionalString(env, ENV.prefix, DEFAULTS.prefix),
    consumerFunction: requiredString(env, ENV.consumerFunction),
    // No upper bound: if a user configures more than Lambda accepts, the 413 fallback still delivers.
    inlineLimitBytes: integerInRange(env, ENV.inlineLimit, DEFAULTS.inlineLimit, 1, Number.MAX_SAFE_INTEGER),
    alwaysS3: boolean(env, ENV.alwaysS3, DEFAULTS.alwaysS3),
    compressInline: boolean(env, ENV.compressInline, DEFAULTS.compressInline),
    sdkTimeouts: sdkTimeouts(env),
  };
}

export function consumerConfig(env: Env): ConsumerConfig {
  return {
    bucket: requiredString(env, ENV.bucket),
    prefix: optionalString(env, ENV.prefix, DEFAULTS.prefix),
    deleteAfterProcessing: boolean(env, ENV.deleteAfterProcessing, DEFAULTS.deleteAfterProcessing),
    idempotency: {
      tableName: requiredString(env, ENV.idempotencyTable),
      // DynamoDB TTL ignores expiry times more than five years ahead; a year is plenty.
      expiresAfterSeconds: integerInRange(env, ENV.idempotencyExpiresAfterSeconds, DEFAULTS.idempotencyExpiresAfterSeconds, 1, 31_536_000),
    },
    sdkTimeouts: sdkTimeouts(env),
    streamAboveBytes: integerInRange(env, ENV.streamAboveBytes, DEFAULTS.streamAboveBytes, 0, Number.MAX_SAFE_INTEGER),
  };
}
