/**
 * The consumer's idempotency store: a DynamoDB table of Powertools-shaped records, one per
 * payload id, that expire on their own.
 */
import type { DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table/index.js";
import { Construct } from "constructs";
import { IDEMPOTENCY_RECORD } from "../lib/contract.ts";

export interface IdempotencyTableProps {
  readonly tableName: string;
  /**
   * Records are a few hundred bytes written once or twice per payload, and traffic follows the
   * senders, so capacity planning would only add a way to throttle.
   * @default "PAY_PER_REQUEST"
   */
  readonly billingMode?: "PAY_PER_REQUEST" | "PROVISIONED";
}

/**
 * The exact DynamoDB actions Powertools' DynamoDBPersistenceLayer sends: a conditional PutItem to
 * take the id, GetItem when the put's failure carries no record, UpdateItem to mark it completed,
 * DeleteItem to release it when processing fails.
 */
export const IDEMPOTENCY_ACTIONS = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] as const;

export class IdempotencyTable extends Construct {
  public readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps) {
    super(scope, id);
    this.table = new DynamodbTable(this, "table", {
      name: props.tableName,
      billingMode: props.billingMode ?? "PAY_PER_REQUEST",
      hashKey: IDEMPOTENCY_RECORD.key,
      attribute: [{ name: IDEMPOTENCY_RECORD.key, type: "S" }],
      // Housekeeping only: expired records already count as absent, TTL just removes them later.
      ttl: { attributeName: IDEMPOTENCY_RECORD.expiry, enabled: true },
      // No server_side_encryption block: DynamoDB encrypts with an AWS owned key, which is enough
      // for records that hold hashes and timestamps, never payload bytes.
    });
  }

  /** What a function needs to process payloads idempotently with this table, and nothing more. */
  public grantIdempotentProcessing(sid: string): DataAwsIamPolicyDocumentStatement {
    return { sid, effect: "Allow", actions: [...IDEMPOTENCY_ACTIONS], resources: [this.table.arn] };
  }
}
