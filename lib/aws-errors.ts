/**
 * The SDK may surface service errors as a generic ServiceException, so match on the error name
 * and the HTTP status rather than on classes (see facts.md).
 */
interface SdkErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shape(err: unknown): SdkErrorShape {
  return typeof err === "object" && err !== null ? (err as SdkErrorShape) : {};
}

export function isPayloadTooLarge(err: unknown): boolean {
  const e = shape(err);
  return e.name === "RequestEntityTooLargeException" || e.$metadata?.httpStatusCode === 413;
}

export function isNoSuchKey(err: unknown): boolean {
  const e = shape(err);
  return e.name === "NoSuchKey" || (e.name === "NotFound" && e.$metadata?.httpStatusCode === 404);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
