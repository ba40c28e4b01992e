/** Default ports of `npm run local`, chosen so existing habits carry over. */
export const DEFAULT_LAMBDA_PORT = 3001; // SAM's `sam local start-lambda`
export const DEFAULT_S3_PORT = 4568; // s3rver's

export const DEFAULT_LOCAL_LAMBDA_ENDPOINT = `http://127.0.0.1:${DEFAULT_LAMBDA_PORT}`;
export const DEFAULT_LOCAL_S3_ENDPOINT = `http://127.0.0.1:${DEFAULT_S3_PORT}`;

/**
 * The options that point `npm run invoke` or `npm run redrive` at a local cloud: none on the
 * default Lambda port, else `--endpoint-url` (they find the S3 endpoint from it, see
 * local-endpoints.ts). With a leading space when not empty.
 */
export function endpointOptions(lambdaEndpoint: string): string {
  return lambdaEndpoint === DEFAULT_LOCAL_LAMBDA_ENDPOINT ? "" : ` --endpoint-url ${lambdaEndpoint}`;
}
