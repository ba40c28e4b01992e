/**
 * A Lambda function from a prebuilt esbuild bundle, with its own log group and an execution role
 * that may write to that log group and do only what the caller lists.
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import {
  DataAwsIamPolicyDocument,
  type DataAwsIamPolicyDocumentStatement,
} from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { LAMBDA_HANDLER, type Bundle } from "../bundling/bundle.ts";
import { STACK_DEFAULTS, type LambdaArchitecture, type LambdaRuntime } from "./config.ts";

export interface NodejsFunctionProps {
  /** Function name; also names the log group `/aws/lambda/<name>`. */
  readonly functionName: string;
  /** The bundle from `bundleHandlers()`: its directory is zipped, its content hash drives updates. */
  readonly bundle: Bundle;
  /** Environment variables, from the contract's `senderEnvironment()`/`consumerEnvironment()`. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * What the function may do besides writing its own logs. Each statement must name its
   * actions and resources exactly.
   * @default - only logging
   */
  readonly policyStatements?: readonly DataAwsIamPolicyDocumentStatement[];
  /** @default "nodejs22.x" */
  readonly runtime?: LambdaRuntime;
  /** @default "arm64" */
  readonly architecture?: LambdaArchitecture;
  /** @default 512 (MB) */
  readonly memorySize?: number;
  /**
   * Ephemeral storage (/tmp), in MB (512 to 10,240).
   * @default 512
   */
  readonly ephemeralStorageMb?: number;
  /** @default 30 (seconds) */
  readonly timeout?: number;
  /** @default 14 (days) */
  readonly logRetentionDays?: number;
}

export class NodejsFunction extends Construct {
  public readonly asset: TerraformAsset;
  public readonly logGroup: CloudwatchLogGroup;
  public readonly assumeRolePolicy: DataAwsIamPolicyDocument;
  public readonly role: IamRole;
  public readonly policyDocument: DataAwsIamPolicyDocument;
  public readonly policy: IamRolePolicy;
  public readonly function: LambdaFunction;

  constructor(scope: Construct, id: string, props: NodejsFunctionProps) {
    super(scope, id);

    this.asset = new TerraformAsset(this, "code", {
      path: props.bundle.dir,
      type: AssetType.ARCHIVE,
      // The asset directory name is part of `filename` in the output; deriving it from the bundle's
      // content (not cdktf's default MD5 of the files) keeps both stable and path-safe.
      assetHash: Buffer.from(props.bundle.contentHash, "base64").toString("hex").slice(0, 32),
    });

    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays ?? STACK_DEFAULTS.logRetentionDays,
    });

    this.assumeRolePolicy = new DataAwsIamPolicyDocument(this, "assume_role", {
      statement: [
        {
          effect: "Allow",
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: ["lambda.amazonaws.com"] }],
        },
      ],
    });

    this.role = new IamRole(this, "role", {
      // A prefix, not a name: role names are global to the account, and the same stack may be
      // deployed to several regions.
      namePrefix: `${props.functionName.slice(0, 37)}-`,
      assumeRolePolicy: this.assumeRolePolicy.json,
    });

    this.policyDocument = new DataAwsIamPolicyDocument(this, "permissions", {
      statement: [
        {
          sid: "WriteOwnLogs",
          effect: "Allow",
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [`${this.logGroup.arn}:*`],
        },
        ...(props.policyStatements ?? []),
      ],
    });

    this.policy = new IamRolePolicy(this, "policy", {
      name: "least-privilege",
      role: this.role.id,
      policy: this.policyDocument.json,
    });

    this.function = new LambdaFunction(this, "function", {
      functionName: props.functionName,
      role: this.role.arn,
      handler: LAMBDA_HANDLER,
      runtime: props.runtime ?? STACK_DEFAULTS.runtime,
      architectures: [props.architecture ?? STACK_DEFAULTS.architecture],
      memorySize: props.memorySize ?? STACK_DEFAULTS.memorySize,
      ephemeralStorage: { size: props.ephemeralStorageMb ?? 512 },
      timeout: props.timeout ?? STACK_DEFAULTS.timeout,
      filename: this.asset.path,
      // In hashicorp/aws 5.5x+ and 6.x this is only an update trigger (the deployed hash is the
      // separate `code_sha256`), so the bundle's content hash works where the zip's would not:
      // cdktf's zips change with file mtimes.
      sourceCodeHash: props.bundle.contentHash,
      environment: { variables: { ...props.environment } },
      loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
      // Without the policy in place, the first invocations could fail to log or to reach S3.
      dependsOn: [this.policy],
    });
  }
}
