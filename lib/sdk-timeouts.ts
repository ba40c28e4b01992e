/**
 * Connection and request timeouts for every AWS SDK client the functions create. Without them
 * an endpoint that accepts a connection and never answers holds the function until Lambda kills
 * it at its timeout: no error, no SDK retry, nothing in the log that says which call hung.
 */
import { DEFAULTS, ENV } from "./contract.ts";
import { integerInRange } from "./env.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface SdkTimeouts {
  /** Milliseconds to establish a connection. */
  readonly connectionTimeoutMs: number;
  /** Milliseconds one attempt (request and response) may take in all. */
  readonly requestTimeoutMs: number;
}

/** Largest timeout the functions accept: Lambda's maximum function timeout. */
const MAX_TIMEOUT_MS = 900_000;

export function sdkTimeouts(env: Env): SdkTimeouts {
  return {
    connectionTimeoutMs: integerInRange(env, ENV.sdkConnectionTimeoutMs, DEFAULTS.sdkConnectionTimeoutMs, 1, MAX_TIMEOUT_MS),
    requestTimeoutMs: integerInRange(env, ENV.sdkRequestTimeoutMs, DEFAULTS.sdkRequestTimeoutMs, 1, MAX_TIMEOUT_MS),
  };
}

/**
 * Client configuration that applies the timeouts. SDK v3 builds its Node.js HTTP handler from
 * these options itself, so no handler package needs importing here. A timed-out attempt fails
 * with `TimeoutError`, which the SDK's standard retry strategy retries like any transient error.
 * `throwOnRequestTimeout` is what makes the request timeout an error: without it the handler only
 * logs a warning and keeps waiting (a hung endpoint then runs into the function timeout).
 */
export function clientTimeoutConfig(t: SdkTimeouts): {
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
} {
  return { requestHandler: { connectionTimeout: t.connectionTimeoutMs, requestTimeout: t.requestTimeoutMs, throwOnRequestTimeout: true } };
}
