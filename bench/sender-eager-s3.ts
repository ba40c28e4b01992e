// The sender with an S3 client created up front: the baseline bench/cold-start.ts compares with.
import { S3Client } from "@aws-sdk/client-s3";
export const s3 = new S3Client({});
export { handler } from "../handlers/sender";
