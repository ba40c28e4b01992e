/**
 * Local S3: s3rver on 127.0.0.1 with the payload bucket, plus the bucket notification that
 * invokes the consumer. Records are rewritten into the shape real S3 sends, because s3rver's
 * differ (keys not URL-encoded, a malformed bucket ARN, a fixed region).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import os from "node:os";
import path from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import S3rver, { type S3rverContext, type S3rverRecord } from "s3rver";
import AWSAccount from "s3rver/lib/models/account.js";
import { NOTIFICATION_EVENTS } from "../lib/contract.ts";
import { encodeS3EventKey } from "../lib/s3-event.ts";
import { keepIdleConnections } from "./keep-alive.ts";

/** The bucket's notification configuration: which new objects invoke which function. */
export interface LocalS3Notification {
  /** Only keys starting with this invoke the function (the stack's prefix filter rule). */
  readonly prefix: string;
  /**
   * Queues `{"Records":[record]}` for the function; S3 invokes Lambda asynchronously.
   * Must not throw: S3 does not fail an upload because a notification failed.
   */
  readonly invokeAsync: (body: Uint8Array) => void;
}

export interface LocalS3Options {
  /** Created at start. */
  readonly bucket: string;
  /** More buckets created at start, without notifications (e.g. the failure destination). @default none */
  readonly otherBuckets?: readonly string[];
  /** @default 0, an ephemeral port */
  readonly port?: number;
  /**
   * Where s3rver keeps objects.
   * @default a new temporary directory, removed on close
   */
  readonly directory?: string;
  /** Reported as `awsRegion` in notifications. @default "us-east-1" */
  readonly region?: string;
  /** @default no notification */
  readonly notification?: LocalS3Notification;
}

export interface LocalS3 {
  /** `http://127.0.0.1:PORT`; the SDK uses path-style addressing for an IP endpoint. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly directory: string;
  close(): Promise<void>;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(path.join(os.tmpdir(), "local-s3-")));
  const server = new S3rver({
    address: "127.0.0.1",
    port: options.port ?? 0,
    silent: true,
    directory,
    configureBuckets: [options.bucket, ...(options.otherBuckets ?? [])].map((name) => ({ name })),
    // SigV2 signatures are checked against a secret; ours are made up (see acceptAnyAccessKey).
    allowMismatchedSignatures: true,
  });
  // Koa composes its middleware when the server starts, so these run before s3rver's router.
  deleteWithoutPruning(server);
  const inFlight = new Set<Promise<void>>();
  server.middleware.unshift(
    async (_ctx, next) => {
      const done = next();
      const settled = done.then(() => undefined, () => undefined);
      inFlight.add(settled);
      void settled.then(() => inFlight.delete(settled));
      return done;
    },
    acceptAnyAccessKey,
    decodeAwsChunked,
    markMultipartCompletion,
  );

  const { notification } = options;
  if (notification) {
    const region = options.region ?? "us-east-1";
    const sequencer = sequencerSource();
    // s3rver emits while handling the upload, before it answers the client, so the event is
    // queued before the uploader moves on (and before LambdaApi.idle() could resolve).
    server.on("event", ({ Records }) => {
      for (const record of Records) {
        if (
          record.s3.bucket.name !== options.bucket ||
          !record.s3.object.key.startsWith(notification.prefix) ||
          !subscribed(record.eventName)
        ) {
          continue;
        }
        const event = { Records: [toS3Record(record, region, sequencer(), completingMultipart.getStore() === true)] };
        notification.invokeAsync(Buffer.from(JSON.stringify(event)));
      }
    });
  }

  reportListenErrors(server);
  let address;
  try {
    address = await server.run();
  } catch (error) {
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  if (server.httpServer) keepIdleConnections(server.httpServer);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: options.bucket,
    directory,
    close() {
      closing ??= (async () => {
        const closed = server.close();
        // SDK clients keep connections alive; without this, close waits for them to time out.
        server.httpServer?.closeIdleConnections();
        // Let running requests finish: s3rver keeps writing files after its client is gone, and a
        // write into the removed directory would surface as an uncaught ENOENT. An upload whose
        // client vanished mid-body never finishes, hence the bound.
        await settleWithin([...inFlight], 2000);
        server.httpServer?.closeAllConnections();
        await closed;
        if (ownDirectory) await rm(directory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/**
 * s3rver hands its promise's callback to `server.listen()` as the "listening" listener, so a busy
 * port surfaces as an unhandled "error" event that kills the process instead of rejecting
 * `run()`. This makes `run()` reject with the listen error (EADDRINUSE and all) instead.
 */
function reportListenErrors(server: S3rver): void {
  const listen = server.listen.bind(server);
  const listenOrReject = (port: number | undefined, address: string | undefined, options: object) =>
    new Promise<Server>((resolve, reject) => {
      const httpServer = listen(port, address, options, () => {
        httpServer.off("error", reject);
        resolve(httpServer);
      });
      httpServer.once("error", reject);
    });
  server.listen = listenOrReject as S3rver["listen"];
}

/**
 * s3rver's deleteObject also removes parent directories left empty. Payload keys share date
 * directories, so a concurrent PUT into the same directory can lose it between creating it and
 * opening its file: an ENOENT on a write stream with no error listener, which is an uncaught
 * exception (it crashed the property tests) and an upload that never answers. Deleting only the
 * object's files avoids the race; empty directories list as nothing.
 */
function deleteWithoutPruning(server: S3rver): void {
  const store = server.store;
  store.deleteObject = async (bucket, key) => {
    await Promise.all(
      ["object", "object.md5", "metadata.json"].map((resource) => rm(store.getResourcePath(bucket, key, resource), { force: true })),
    );
  };
}

async function settleWithin(promises: Array<Promise<void>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(promises), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function subscribed(eventName: string): boolean {
  return NOTIFICATION_EVENTS.some((pattern) =>
    pattern.endsWith("*") ? `s3:${eventName}`.startsWith(pattern.slice(0, -1)) : `s3:${eventName}` === pattern,
  );
}

/** What real S3 puts in a record, where s3rver differs. */
function toS3Record(record: S3rverRecord, region: string, sequencer: string, multipart: boolean) {
  const { bucket, object } = record.s3;
  return {
    ...record,
    eventName: multipart ? "ObjectCreated:CompleteMultipartUpload" : record.eventName,
    awsRegion: region,
    s3: {
      ...record.s3,
      bucket: { ...bucket, arn: `arn:aws:s3:::${bucket.name}` },
      // s3rver reports the raw key; S3 form-URL-encodes it ("a b+c" arrives as "a+b%2Bc").
      object: { ...object, key: encodeS3EventKey(object.key), sequencer },
    },
  };
}

/**
 * S3's sequencer is a fixed-width hex string that grows with each event on a key. s3rver uses
 * Date.now() in hex, which repeats within a millisecond; this stays unique and ordered.
 */
function sequencerSource(): () => string {
  let last = 0n;
  return () => {
    const now = BigInt(Date.now()) << 12n;
    last = now > last ? now : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, "0");
  };
}

/**
 * s3rver reports a completed multipart upload (what `aws s3 cp` does above 8 MB) as
 * ObjectCreated:Post, like a browser form upload; S3 says ObjectCreated:CompleteMultipartUpload.
 * s3rver emits its event synchronously inside the request, so the request's async context tells.
 */
const completingMultipart = new AsyncLocalStorage<boolean>();
function markMultipartCompletion(ctx: S3rverContext, next: () => Promise<void>): Promise<void> {
  const completing = ctx.request.req.method === "POST" && ctx.query.uploadId !== undefined;
  return completing ? completingMultipart.run(true, next) : next();
}

/**
 * s3rver only knows its built-in key pair (S3RVER/S3RVER), but clients sign with whatever they
 * have: functions with the runtime's dummy keys, the AWS CLI with the user's profile. s3rver does
 * not verify SigV4 signatures anyway, so any access key id is registered on first sight.
 */
async function acceptAnyAccessKey(ctx: S3rverContext, next: () => Promise<void>): Promise<void> {
  const { authorization } = ctx.request.req.headers;
  const credential = ctx.query["X-Amz-Credential"] ?? ctx.query["AWSAccessKeyId"];
  const accessKeyId =
    (authorization && /Credential=([^/,\s]+)\//.exec(authorization)?.[1]) ||
    (authorization && /^AWS ([^:\s]+):/.exec(authorization)?.[1]) ||
    (typeof credential === "string" ? credential.split("/")[0] : undefined);
  if (accessKeyId && !AWSAccount.registry.has(accessKeyId)) {
    AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, accessKeyId);
  }
  await next();
}

/**
 * The SDK (since v3.729, for streamed bodies) and recent AWS CLIs upload with
 * `Content-Encoding: aws-chunked`: the body is framed in chunks with a checksum trailer.
 * s3rver does not know the encoding and stores the framing as object bytes, silently corrupting
 * the payload (measured: "hello world" came back as "6\r\nhello \r\n5\r\nworld\r\n0\r\n…").
 * S3 strips the framing; so does this, before s3rver reads the body. Checksums are not verified;
 * the pipeline checks its own sha256 end to end.
 */
async function decodeAwsChunked(ctx: S3rverContext, next: () => Promise<void>): Promise<void> {
  const req = ctx.request.req;
  const headers = req.headers;
  const encodings = (headers["content-encoding"] ?? "").split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (!encodings.some((e) => e.toLowerCase() === "aws-chunked")) return next();

  const rest = encodings.filter((e) => e.toLowerCase() !== "aws-chunked");
  if (rest.length > 0) headers["content-encoding"] = rest.join(", ");
  else delete headers["content-encoding"];
  const decodedLength = headers["x-amz-decoded-content-length"];
  if (decodedLength !== undefined) headers["content-length"] = String(decodedLength);
  else delete headers["content-length"];
  delete headers["x-amz-decoded-content-length"];
  delete headers["x-amz-trailer"];

  const expected = decodedLength === undefined ? undefined : Number(decodedLength);
  const decoder = new AwsChunkedDecoder(expected);
  // A malformed body must not be stored; resetting the connection makes the upload fail.
  decoder.on("error", () => req.destroy());
  ctx.req = req.pipe(decoder);
  await next();
}

class AwsChunkedDecoder extends Transform {
  private state: "size" | "data" | "data-end" | "trailer" = "size";
  /** Bytes left in the current chunk's data. */
  private remaining = 0;
  private decoded = 0;
  /** An incomplete size line or CRLF carried over to the next write. */
  private carry: Buffer = Buffer.alloc(0);

  private readonly expectedLength: number | undefined;

  constructor(expectedLength: number | undefined) {
    super();
    this.expectedLength = expectedLength;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.state === "trailer") break;
      if (this.state === "data") {
        const n = Math.min(this.remaining, buf.length);
        this.push(buf.subarray(0, n));
        this.decoded += n;
        this.remaining -= n;
        buf = buf.subarray(n);
        if (this.remaining === 0) this.state = "data-end";
        continue;
      }
      const eol = buf.indexOf("\r\n");
      if (eol < 0) {
        if (buf.length > 4096) return callback(new Error("aws-chunked body: chunk header too long"));
        this.carry = buf;
        break;
      }
      const line = buf.subarray(0, eol).toString("latin1");
      buf = buf.subarray(eol + 2);
      if (this.state === "data-end") {
        if (line !== "") return callback(new Error("aws-chunked body: chunk data longer than its declared size"));
        this.state = "size";
        continue;
      }
      const sizeField = line.split(";")[0] ?? "";
      if (!/^[0-9a-fA-F]+$/.test(sizeField)) return callback(new Error(`aws-chunked body: bad chunk size ${JSON.stringify(line)}`));
      this.remaining = parseInt(sizeField, 16);
      this.state = this.remaining === 0 ? "trailer" : "data";
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== "trailer") return callback(new Error("aws-chunked body ended before its final chunk"));
    if (this.expectedLength !== undefined && this.decoded !== this.expectedLength) {
      return callback(new Error(`aws-chunked body: decoded ${this.decoded} bytes, x-amz-decoded-content-length says ${this.expectedLength}`));
    }
    callback();
  }
}
