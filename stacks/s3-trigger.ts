/**
 * Invokes a function when objects are created under a prefix of a bucket: the Lambda permission
 * S3 needs, and the bucket's single notification configuration, in the order AWS requires.
 */
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketNotification } from "@cdktf/provider-aws/lib/s3-bucket-notification/index.js";
import { Construct } from "constructs";
import { NOTIFICATION_EVENTS } from "../lib/contract.ts";

export interface S3TriggerProps {
  readonly bucket: S3Bucket;
  readonly function: LambdaFunction;
  /** Only keys with this prefix trigger the function. */
  readonly prefix: string;
  /**
   * Account that owns the bucket. Bucket names are global and reusable: a deleted bucket's name
   * could be taken by another account, which must not inherit the right to invoke the function.
   */
  readonly sourceAccount: string;
  /** @default NOTIFICATION_EVENTS from the contract (`s3:ObjectCreated:*`) */
  readonly events?: readonly string[];
}

export class S3Trigger extends Construct {
  public readonly permission: LambdaPermission;
  public readonly notification: S3BucketNotification;

  constructor(scope: Construct, id: string, props: S3TriggerProps) {
    super(scope, id);

    this.permission = new LambdaPermission(this, "allow_s3", {
      statementId: "AllowS3ObjectCreated",
      action: "lambda:InvokeFunction",
      functionName: props.function.functionName,
      principal: "s3.amazonaws.com",
      sourceArn: props.bucket.arn,
      sourceAccount: props.sourceAccount,
    });

    this.notification = new S3BucketNotification(this, "notification", {
      bucket: props.bucket.id,
      lambdaFunction: [
        {
          lambdaFunctionArn: props.function.arn,
          events: [...(props.events ?? NOTIFICATION_EVENTS)],
          filterPrefix: props.prefix,
        },
      ],
      // S3 test-invokes the destination when the configuration is written and rejects it
      // ("Unable to validate the following destination configurations") without the permission.
      dependsOn: [this.permission],
    });
  }
}
