import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import os from "node:os";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { decodeS3EventKey, encodeS3EventKey, parseS3Event } from "../lib/s3-event.ts";
import { type LocalS3, startLocalS3 } from "./s3.ts";

const BUCKET = "local-s3-test-bucket";
const PREFIX = "payloads/";

let s3: LocalS3;
const notifications: Array<{ Records: Array<Record<string, any>> }> = [];
const clients: S3Client[] = [];

before(async () => {
  s3 = await startLocalS3({
    bucket: BUCKET,
    region: "eu-central-1",
    notification: {
      prefix: PREFIX,
      invokeAsync: (body) => notifications.push(JSON.parse(Buffer.from(body).toString())),
    },
  });
});

after(async () => {
  for (const client of clients) client.destroy();
  await s3.close();
});

/** An S3 client with the SDK's defaults (CRC32 checksums on), as the handlers create it. */
function client(config: { forcePathStyle?: boolean; accessKeyId?: string } = {}): S3Client {
  const c = new S3Client({
    endpoint: s3.endpoint,
    region: "eu-central-1",
    credentials: { accessKeyId: config.accessKeyId ?? "any-access-key", secretAccessKey: "any-secret" },
    ...(config.forcePathStyle !== undefined && { forcePathStyle: config.forcePathStyle }),
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

describe("the AWS SDK v3 S3 client against local S3", () => {
  for (const forcePathStyle of [undefined, true]) {
    test(`put with metadata, get, list, delete, NoSuchKey (forcePathStyle: ${forcePathStyle})`, async () => {
      const c = client(forcePathStyle === undefined ? {} : { forcePathStyle });
      const Key = `sdk/${forcePathStyle}/a b+c/ü€😀 (1).bin`;
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b, 0x22, 0x0a]);
      await c.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: bytes, Metadata: { "payload-id": "id-1", "payload-sha256": "abc" } }));
      const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), bytes);
      assert.deepEqual(got.Metadata, { "payload-id": "id-1", "payload-sha256": "abc" });
      assert.equal(got.ContentLength, bytes.length);
      const listed = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `sdk/${forcePathStyle}/` }));
      assert.deepEqual(listed.Contents?.map((o) => o.Key), [Key]);
      await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
      const missing = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key })).then(
        () => assert.fail("object still there"),
        (error: Error & { $metadata: { httpStatusCode?: number } }) => error,
      );
      assert.equal(missing.name, "NoSuchKey");
      assert.equal(missing.$metadata.httpStatusCode, 404);
    });
  }

  test("a streamed upload (aws-chunked with a CRC32 trailer) stores the payload bytes, not the framing", async () => {
    const c = client();
    const parts = [Buffer.from("hello "), Buffer.alloc(70_000, "é"), Buffer.from(" world")];
    const whole = Buffer.concat(parts);
    const Key = "sdk/streamed.txt";
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Readable.from(parts), ContentLength: whole.length }));
    const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), whole);
    assert.equal(got.ContentEncoding, undefined, "aws-chunked is a transfer detail, not stored");
    await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
  });

  test("a delete racing an upload into the same directory loses nothing", async () => {
    // s3rver removed directories left empty by a delete, under the feet of a concurrent upload.
    const c = client();
    for (let round = 0; round < 10; round++) {
      const dir = `race/${round}/`;
      await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}first`, Body: Buffer.from("first") }));
      await Promise.all([
        c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${dir}first` })),
        c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}second`, Body: Buffer.from(`second ${round}`) })),
      ]);
      const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${dir}second` }));
      assert.equal(await got.Body?.transformToString(), `second ${round}`);
    }
    const listed = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "race/" }));
    assert.equal(listed.KeyCount, 10);
  });

  test("any access key id is accepted, as clients sign with whatever credentials they have", async () => {
    const c = client({ accessKeyId: `AKIA${Date.now()}` });
    const out = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "nothing-here/" }));
    assert.equal(out.KeyCount, 0);
  });
});

describe("bucket notification", () => {
  test("new objects under the prefix reach the function in real S3 shape; others do not", async () => {
    const c = client();
    notifications.length = 0;
    const keys = [`${PREFIX}red flower.json`, `${PREFIX}a+b=c&d.json`, `${PREFIX}ünï/cödé €😀/x~y(1)!'*.json`];
    const outside = ["other/red flower.json", "payloads", "Payloads/upper.json"];
    for (const Key of [...keys, ...outside]) {
      await c.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Buffer.from(`{"key":${JSON.stringify(Key)}}`) }));
    }
    await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: keys[0] }));

    assert.equal(notifications.length, keys.length, "one event per object under the prefix, none for deletes");
    const records = notifications.map((n) => {
      assert.equal(n.Records.length, 1);
      return n.Records[0] as Record<string, any>;
    });
    assert.deepEqual(
      records.map((r) => r.s3.object.key),
      [
        "payloads/red+flower.json",
        "payloads/a%2Bb%3Dc%26d.json",
        "payloads/%C3%BCn%C3%AF/c%C3%B6d%C3%A9+%E2%82%AC%F0%9F%98%80/x%7Ey%281%29%21%27*.json",
      ],
    );
    assert.deepEqual(records.map((r) => decodeS3EventKey(r.s3.object.key)), keys);
    assert.deepEqual(records.map((r) => r.s3.object.key), keys.map(encodeS3EventKey));
    for (const [i, r] of records.entries()) {
      assert.equal(r.eventSource, "aws:s3");
      assert.equal(r.eventName, "ObjectCreated:Put");
      assert.equal(r.awsRegion, "eu-central-1");
      assert.equal(r.s3.bucket.name, BUCKET);
      assert.equal(r.s3.bucket.arn, `arn:aws:s3:::${BUCKET}`);
      assert.equal(r.s3.object.size, Buffer.byteLength(`{"key":${JSON.stringify(keys[i])}}`));
      assert.match(r.s3.object.eTag, /^[0-9a-f]{32}$/);
      assert.match(r.s3.object.sequencer, /^[0-9A-F]{18}$/);
      assert.ok(!Number.isNaN(Date.parse(r.eventTime)));
    }
    const sequencers = records.map((r) => r.s3.object.sequencer as string);
    assert.deepEqual([...sequencers].sort(), sequencers, "sequencers grow");
    assert.equal(new Set(sequencers).size, sequencers.length);

    // The consumer's parser accepts what local S3 sends, and recovers the real keys.
    for (const [i, n] of notifications.entries()) {
      const parsed = parseS3Event(n);
      assert.equal(parsed.kind, "records");
      assert.equal(parsed.kind === "records" && parsed.records[0]?.key, keys[i]);
    }
  });

  test("a copy into the prefix is an ObjectCreated:Copy event", async () => {
    const c = client();
    await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: "staging/source.json", Body: Buffer.from("{}") }));
    notifications.length = 0;
    await c.send(new CopyObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}copied.json`, CopySource: `${BUCKET}/staging/source.json` }));
    assert.equal(notifications.length, 1);
    assert.equal(notifications[0]?.Records[0]?.eventName, "ObjectCreated:Copy");
  });

  test("a completed multipart upload is ObjectCreated:CompleteMultipartUpload, with the whole object", async () => {
    const c = client();
    const Key = `${PREFIX}multipart.bin`;
    const parts = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from("last part")];
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      const { ETag } = await c.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: i + 1, Body }));
      etags.push(ETag ?? "");
    }
    notifications.length = 0;
    await c.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    assert.equal(notifications.length, 1);
    assert.equal(notifications[0]?.Records[0]?.eventName, "ObjectCreated:CompleteMultipartUpload");
    const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
    assert.deepEqual(Buffer.from((await got.Body?.transformToByteArray()) ?? []), Buffer.concat(parts));
  });
});

// The timeout only bounds a regression: an unhandled 'error' left the start pending forever.
test("a busy port rejects startLocalS3 with EADDRINUSE (no unhandled 'error' event) and leaves no directory", { timeout: 20_000 }, async () => {
  const holder = await startLocalS3({ bucket: BUCKET });
  const port = Number(new URL(holder.endpoint).port);
  const tempBefore = new Set(readdirSync(os.tmpdir()).filter((e) => e.startsWith("local-s3-")));
  try {
    await assert.rejects(startLocalS3({ bucket: BUCKET, port }), (err: NodeJS.ErrnoException & { port?: number }) => {
      assert.equal(err.code, "EADDRINUSE");
      assert.equal(err.port, port, "the error names the port, so `npm run local` can say which option to change");
      return true;
    });
    const left = readdirSync(os.tmpdir()).filter((e) => e.startsWith("local-s3-") && !tempBefore.has(e));
    assert.deepEqual(left, [], "the failed start removed its temporary directory");
  } finally {
    await holder.close();
  }
});
