/**
 * Drives the pipeline the way a user does: the real AWS SDK over HTTP against the local cloud,
 * which runs the esbuild bundles that would be deployed. Observes the consumer only through
 * what it logs, as an operator would in CloudWatch.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import type { Bundle, FunctionRole } from "../bundling/bundle.ts";
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from "../local/cloud.ts";
import { waitForDelivery, type Delivery } from "../local/deliveries.ts";

export interface Pipeline {
  cloud: LocalCloud;
  lambda: LambdaClient;
  s3: S3Client;
  /** Invokes a function synchronously; returns the parsed body and the function error, if any. */
  invoke(functionName: string, payload: string | Uint8Array): Promise<{ body: unknown; functionError: string | undefined }>;
  /** Resolves with the consumer's "payload received" line for this id; rejects once the cloud is idle without it. */
  delivery(id: string): Promise<Delivery>;
  close(): Promise<void>;
}

export async function startPipeline(options: LocalCloudOptions & { bundles: Record<FunctionRole, Bundle> }): Promise<Pipeline> {
  const cloud = await startLocalCloud(options);
  const clientConfig = {
    region: cloud.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  };
  const lambda = new LambdaClient({ ...clientConfig, endpoint: cloud.lambdaEndpoint });
  const s3 = new S3Client({ ...clientConfig, endpoint: cloud.s3Endpoint, forcePathStyle: true });

  return {
    cloud,
    lambda,
    s3,
    async invoke(functionName, payload) {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: functionName, Payload: typeof payload === "string" ? Buffer.from(payload) : payload }),
      );
      const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
      return { body: text === "" ? undefined : JSON.parse(text), functionError: out.FunctionError };
    },
    delivery: (id) => waitForDelivery(cloud, id),
    async close() {
      lambda.destroy();
      s3.destroy();
      await cloud.close();
    },
  };
}
