/**
 * The local cloud's on-failure destination: an S3 bucket in its own local S3, written the way
 * Lambda writes an S3 on-failure destination (same key layout, same JSON record), so
 * `npm run redrive` and an operator's `aws s3` commands read local records as they read AWS's.
 */
import { randomUUID } from "node:crypto";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { failureRecordKey } from "../lib/failure-records.ts";
import type { FailureDestination, OnFailureRecord } from "./lambda-api.ts";

export interface S3FailureDestinationOptions {
  /** The local S3 endpoint. */
  readonly endpoint: string;
  readonly bucket: string;
  /** @default "us-east-1" */
  readonly region?: string;
}

export interface S3FailureDestination extends FailureDestination {
  readonly bucket: string;
  close(): void;
}

export function s3FailureDestination(options: S3FailureDestinationOptions): S3FailureDestination {
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region ?? "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return {
    bucket: options.bucket,
    async deliver(functionName: string, record: OnFailureRecord): Promise<string> {
      const key = failureRecordKey(functionName, new Date(record.timestamp), randomUUID());
      await client.send(
        new PutObjectCommand({ Bucket: options.bucket, Key: key, Body: JSON.stringify(record), ContentType: "application/json" }),
      );
      return `s3://${options.bucket}/${key}`;
    },
    close: () => client.destroy(),
  };
}
