/**
 * A Lambda function from a prebuilt esbuild bundle, with its own log group and an execution role
 * that may write to that log group and do only what the caller lists, plus exactly what the
 * function's own settings need (X-Ray for tracing, network interfaces for a VPC).
 */
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function/index.js";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { LAMBDA_HANDLER, type Bundle } from "../bundling/bundle.ts";
import { bundleZip } from "../bundling/stable-zip.ts";
import { STACK_DEFAULTS, type LambdaArchitecture, type LambdaRuntime } from "./config.ts";
import { policyDocument, type PolicyStatement } from "./policy-document.ts";
import { hclIn, isTerraformDecided } from "./terraform-expression.ts";

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
  readonly policyStatements?: readonly PolicyStatement[];
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
  /**
   * KMS key that encrypts the log group; its key policy must let CloudWatch Logs use it.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logKmsKeyArn?: string;
  /**
   * IAM policy ARN set as the role's permissions boundary.
   * @default - none
   */
  readonly permissionsBoundary?: string;
  /** @default "/" */
  readonly rolePath?: string;
  /**
   * X-Ray active tracing, with the two X-Ray actions the function needs to send traces. A token
   * (a variable) leaves the choice to Terraform: mode Active or PassThrough, and the X-Ray
   * statement only when Active.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Reserved concurrent executions: a ceiling on the function and a floor carved from the account.
   * @default - unreserved
   */
  readonly reservedConcurrency?: number;
  /**
   * Run in these subnets with these security groups; the role gets the network-interface actions
   * Lambda needs (AWSLambdaVPCAccessExecutionRole's). Lists that are tokens leave it to
   * Terraform: in a VPC only when the subnet list is not empty.
   * @default - not in a VPC
   */
  readonly vpc?: { readonly subnetIds: readonly string[]; readonly securityGroupIds: readonly string[] };
  /**
   * Code signing configuration ARN.
   * @default - none
   */
  readonly codeSigningConfigArn?: string;
}

/**
 * X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions, and the
 * network-interface actions Lambda needs in a VPC act on interfaces that do not exist yet: both
 * can only be granted on "*". They are the only such grants, and only when their setting is on.
 */
export const TRACING_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"] as const;
export const VPC_ACTIONS = [
  "ec2:AssignPrivateIpAddresses",
  "ec2:CreateNetworkInterface",
  "ec2:DeleteNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:UnassignPrivateIpAddresses",
] as const;

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
      // Zipped here, in process: cdktf's ARCHIVE type starts a Node.js process per asset.
      path: bundleZip(props.bundle),
      type: AssetType.FILE,
      // The asset directory name is part of `filename` in the output; deriving it from the bundle's
      // content (not cdktf's default MD5 of the files) keeps both stable and path-safe.
      assetHash: Buffer.from(props.bundle.contentHash, "base64").toString("hex").slice(0, 32),
    });

    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays ?? STACK_DEFAULTS.logRetentionDays,
      ...(props.logKmsKeyArn !== undefined && { kmsKeyId: props.logKmsKeyArn }),
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

    const hcl = hclIn(this);
    const tracing = props.tracing ?? false;
    const tracingDecidedByTerraform = isTerraformDecided(tracing);
    const vpcDecidedByTerraform = props.vpc !== undefined && (isTerraformDecided(props.vpc.subnetIds) || isTerraformDecided(props.vpc.securityGroupIds));
    const inVpc = vpcDecidedByTerraform ? hcl.any`length(${props.vpc!.subnetIds}) > 0` : undefined;

    this.role = new IamRole(this, "role", {
      // A prefix, not a name: role names are global to the account, and the same stack may be
      // deployed to several regions.
      namePrefix: `${isTerraformDecided(props.functionName) ? hcl.string`substr(${props.functionName}, 0, 37)` : props.functionName.slice(0, 37)}-`,
      assumeRolePolicy: this.assumeRolePolicy.json,
      ...(props.rolePath !== undefined && { path: props.rolePath }),
      ...(props.permissionsBoundary !== undefined && { permissionsBoundary: props.permissionsBoundary }),
    });

    const sendTraces = { sid: "SendTraces", effect: "Allow", actions: [...TRACING_ACTIONS], resources: ["*"] };
    const manageInterfaces = { sid: "ManageNetworkInterfaces", effect: "Allow", actions: [...VPC_ACTIONS], resources: ["*"] };
    this.policyDocument = policyDocument(this, "permissions", [
      {
        sid: "WriteOwnLogs",
        effect: "Allow",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [`${this.logGroup.arn}:*`],
      },
      ...(props.policyStatements ?? []),
      ...(tracingDecidedByTerraform ? [{ ...sendTraces, onlyIf: tracing }] : tracing ? [sendTraces] : []),
      ...(inVpc !== undefined ? [{ ...manageInterfaces, onlyIf: inVpc }] : props.vpc ? [manageInterfaces] : []),
    ]);

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
      // separate `code_sha256`), so the bundle's content hash works where the zip's would not: a
      // deflated zip's bytes depend on the zlib build.
      sourceCodeHash: props.bundle.contentHash,
      environment: { variables: { ...props.environment } },
      loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
      ...(tracingDecidedByTerraform ? { tracingConfig: { mode: hcl.string`${tracing} ? "Active" : "PassThrough"` } } : tracing && { tracingConfig: { mode: "Active" } }),
      ...(props.reservedConcurrency !== undefined && { reservedConcurrentExecutions: props.reservedConcurrency }),
      ...(props.vpc && !vpcDecidedByTerraform && { vpcConfig: { subnetIds: [...props.vpc.subnetIds], securityGroupIds: [...props.vpc.securityGroupIds] } }),
      ...(props.codeSigningConfigArn !== undefined && { codeSigningConfigArn: props.codeSigningConfigArn }),
      // Without the policy in place, the first invocations could fail to log or to reach S3.
      dependsOn: [this.policy],
    });
    if (inVpc !== undefined) {
      // A block that is there or not, which the typed config cannot say.
      this.function.addOverride("dynamic.vpc_config", {
        for_each: hcl.any`${inVpc} ? [1] : []`,
        content: { subnet_ids: props.vpc!.subnetIds, security_group_ids: props.vpc!.securityGroupIds },
      });
    }
  }
}
