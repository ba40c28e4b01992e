// The consumer with Powertools idempotency and the DynamoDB client imported up front: what its
// first invocation adds to a cold start, since lib/idempotency.ts loads them on first use.
export { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
export { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
export { handler } from "../handlers/consumer.ts";
