/**
 * Local DynamoDB: dynalite (a DynamoDB-protocol server in Node.js, in memory or in a directory) on
 * 127.0.0.1, with the idempotency table created at start the way the stack declares it. The consumer reaches it
 * through AWS_ENDPOINT_URL_DYNAMODB, like it reaches local S3.
 *
 * dynalite does not implement UpdateTimeToLive, so records are not deleted when they expire.
 * Nothing depends on that: Powertools compares the expiry attributes itself, and in AWS TTL
 * deletion is only housekeeping (it may lag expiry by days).
 */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { IDEMPOTENCY_RECORD } from "../lib/contract.ts";
import { keepIdleConnections } from "./keep-alive.ts";

export interface LocalDynamoDbOptions {
  /** Idempotency tables to create at start. */
  readonly tables: readonly string[];
  /** @default 0, an ephemeral port */
  readonly port?: number;
  /** @default "us-east-1" */
  readonly region?: string;
  /** Keep the tables in this directory (LevelDB), so they outlive a restart. @default in memory */
  readonly directory?: string;
}

export interface LocalDynamoDb {
  /** `http://127.0.0.1:PORT`, for AWS_ENDPOINT_URL_DYNAMODB or a client's `endpoint`. */
  readonly endpoint: string;
  /** A client for tests and tools: loopback endpoint, made-up credentials. */
  client(): DynamoDBClient;
  close(): Promise<void>;
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  // Tables are ACTIVE at once: locally nothing should wait for provisioning.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.directory !== undefined && { path: options.directory }) });
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const region = options.region ?? "us-east-1";
  const client = () => new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }));
  try {
    const admin = client();
    for (const table of options.tables) {
      // A table kept in the directory from an earlier run is already there.
      await admin.send(new CreateTableCommand(idempotencyTableDefinition(table))).catch((error: Error) => {
        if (error.name !== "ResourceInUseException") throw error;
      });
    }
    admin.destroy();
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, client, close };
}

/** The table the stack declares (stacks/idempotency-table.ts), as a CreateTable request. */
export function idempotencyTableDefinition(tableName: string) {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_RECORD.key, AttributeType: "S" as const }],
    KeySchema: [{ AttributeName: IDEMPOTENCY_RECORD.key, KeyType: "HASH" as const }],
    BillingMode: "PAY_PER_REQUEST" as const,
  };
}
