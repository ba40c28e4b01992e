// s3rver 3.7.1 ships no types; this covers only what local/s3.ts uses.

declare module "s3rver" {
  import type { EventEmitter } from "node:events";
  import type { IncomingMessage, Server } from "node:http";
  import type { AddressInfo } from "node:net";
  import type { Readable } from "node:stream";

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** The Koa context, as far as the middleware in local/s3.ts touches it. */
  export interface S3rverContext {
    /** The request body stream s3rver stores for PUT Object and Upload Part. */
    req: IncomingMessage | Readable;
    readonly request: { readonly req: IncomingMessage };
    readonly query: Record<string, string | string[] | undefined>;
  }
  export type S3rverMiddleware = (ctx: S3rverContext, next: () => Promise<void>) => unknown;

  /** One record as s3rver builds it (lib/models/event.js): keys are not URL-encoded. */
  export interface S3rverRecord {
    eventVersion: string;
    eventSource: "aws:s3";
    awsRegion: string;
    eventTime: string;
    eventName: string;
    userIdentity: { principalId: string };
    requestParameters: { sourceIPAddress: string };
    responseElements: Record<string, string>;
    s3: {
      s3SchemaVersion: string;
      configurationId: string;
      bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
      object: { key: string; sequencer: string; size?: number; eTag?: string };
    };
  }

  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    /** Koa's middleware stack, composed when the server starts listening. */
    middleware: S3rverMiddleware[];
    httpServer: Server | undefined;
    /** The filesystem store behind every controller (lib/stores/filesystem.js). */
    store: {
      deleteObject(bucket: string, key: string): Promise<void>;
      getResourcePath(bucket: string, key: string, resource: string): string;
    };
    run(): Promise<AddressInfo>;
    /**
     * Called by run() with the port, address and remaining options; it awaits the result. With a
     * callback it returns the server at once and the callback is the "listening" listener.
     */
    listen(port: number | undefined, address: string | undefined, options: object, callback: () => void): Server;
    listen(port: number | undefined, address: string | undefined, options: object): Promise<Server>;
    close(): Promise<void>;
    on(event: "event", listener: (event: { Records: S3rverRecord[] }) => void): this;
  }
}

declare module "s3rver/lib/models/account.js" {
  interface AWSAccount {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  }
  const AWSAccount: {
    readonly registry: Map<string, AWSAccount>;
    /** The account behind s3rver's built-in S3RVER/S3RVER key pair. */
    readonly DUMMY_ACCOUNT: AWSAccount;
  };
  export default AWSAccount;
}
