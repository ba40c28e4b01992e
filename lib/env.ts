/**
 * Reading configuration from environment variables at start-up, so a misconfigured function
 * fails its first invocation with a message that names the variable, not deep inside a request.
 */

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

type Env = Readonly<Record<string, string | undefined>>;

export function requiredString(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new ConfigurationError(`Missing required environment variable ${name}`);
  }
  return value;
}

export function optionalString(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

export function integerInRange(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`Environment variable ${name} is ${JSON.stringify(raw)}; expected an integer from ${min} to ${max}`);
  }
  return value;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigurationError(`Environment variable ${name} is ${JSON.stringify(raw)}; expected "true" or "false"`);
}
