/** Default ports of `npm run local`, chosen so existing habits carry over. */
export const DEFAULT_LAMBDA_PORT = 3001; // SAM's `sam local start-lambda`
export const DEFAULT_S3_PORT = 4568; // s3rver's
