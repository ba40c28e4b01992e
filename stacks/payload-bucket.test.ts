/**
 * The payload bucket construct alone, synthesized without the stack: the ordering that keeps S3
 * from rejecting concurrent bucket-level changes on the first apply.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { Testing } from "cdktf";
import { PayloadBucket } from "./payload-bucket";
import { TfJson } from "./test-support";

test("the bucket policy is applied after the public access block", () => {
  const tf = new TfJson(Testing.synthScope((scope) => new PayloadBucket(scope, "payloads", { payloadPrefix: "payloads/" })));
  const block = tf.only(S3BucketPublicAccessBlock.tfResourceType);
  const policy = tf.only(S3BucketPolicy.tfResourceType);
  // Applied at the same time, S3 may refuse one of them ("conflicting conditional operation").
  assert.deepEqual(policy.block.depends_on, [`${S3BucketPublicAccessBlock.tfResourceType}.${block.name}`]);
});
