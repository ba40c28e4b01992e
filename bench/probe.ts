/**
 * The child side of `npm run bench`: runs in its own plain `node` process (bundled by esbuild, no
 * tsx hooks), imports one function bundle as Lambda would, and reports over IPC.
 *
 *   sender-cpu <bundle>           measures the sender's CPU per payload against one JSON.stringify
 *   consumer-rss <bundle> <file>  handles the one event in <file>, reports peak RSS
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { senderConfig } from "../lib/function-config.ts";
import { fitInline, payloadFromEvent, sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { loadS3, putPayloadObject } from "../lib/s3-client.ts";
import { contentType, payloadObjectKey, toObjectMetadata } from "../lib/payload-object.ts";
import { benchEvent, type PayloadKind } from "./payloads.ts";

export interface CpuCase {
  readonly kind: PayloadKind;
  readonly bytes: number;
}

/** The sender's steps, each timed on its own with the same library calls the handler makes. */
export interface Breakdown {
  /** payloadFromEvent: JSON.stringify and UTF-8 encoding, or base64 decoding and checking. */
  readonly serializeMs: number;
  readonly sha256Ms: number;
  /** fitInline: sizing the inline event and, when it does not fit, the compression attempt. */
  readonly fitMs: number;
  /** Building the inline request body (nothing on the S3 route). */
  readonly bodyMs: number;
  /** The SDK call: Lambda Invoke of the body, or S3 PutObject of the payload. */
  readonly sendMs: number;
  /** S3 route only: the same PutObject with the SDK's defaults (its own CRC32, and signing hashes the body). */
  readonly sendWithSdkDefaultsMs?: number;
}

export interface CpuResult extends CpuCase {
  readonly payloadBytes: number;
  readonly stringifyMs: number;
  readonly senderMs: number;
  /**
   * Median over runs of (sender / stringify) within the same run: the two are timed back to back,
   * so a busy moment on a shared machine inflates both and largely cancels out.
   */
  readonly ratio: number;
  readonly route: string;
  readonly inlineSize?: number;
  readonly breakdown: Breakdown;
}

export type ProbeRequest = { readonly type: "cpu"; readonly cases: readonly CpuCase[]; readonly runs: number } | { readonly type: "idle-done" };
export type ProbeReply =
  | { readonly type: "cpu-result"; readonly result: CpuResult }
  | { readonly type: "idle?" }
  | { readonly type: "rss"; readonly maxRssBytes: number; readonly rssAfterImportBytes: number; readonly error?: string }
  | { readonly type: "done" };

type Handler = (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

const send = (reply: ProbeReply) => process.send?.(reply);

/** CPU time of this process (all threads: zlib's thread pool included), in milliseconds. */
async function cpuMs(work: () => unknown): Promise<number> {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The event as the Lambda runtime hands it over: parsed from its text. The garbage collection
 * that parsing makes necessary is done here, before timing: every handler pays it, whatever it
 * does, and it would otherwise land on whichever step allocates first. (Run with --expose-gc.)
 */
function parsedEvent(text: string): unknown {
  const event = JSON.parse(text) as unknown;
  (globalThis as { gc?: () => void }).gc?.();
  return event;
}

let idleWaiter: (() => void) | undefined;
/** Lets the parent's local cloud finish the previous delivery, so it does not share the CPU. */
function parentIdle(): Promise<void> {
  return new Promise((resolve) => {
    idleWaiter = resolve;
    send({ type: "idle?" });
  });
}

async function senderCpu(handler: Handler, cases: readonly CpuCase[], runs: number): Promise<void> {
  const config = senderConfig(process.env);
  const lambda = new LambdaClient({});
  for (const c of cases) {
    const { text, payloadBytes } = benchEvent(c.kind, c.bytes);
    const stringify: number[] = [];
    const sender: number[] = [];
    const steps: Record<keyof Breakdown, number[]> = { serializeMs: [], sha256Ms: [], fitMs: [], bodyMs: [], sendMs: [], sendWithSdkDefaultsMs: [] };
    let last: Record<string, unknown> = {};
    // The first two of each are warm-up: lazy compilation and the first connection.
    for (let i = 0; i < runs + 2; i++) {
      const event = parsedEvent(text);
      const s = await cpuMs(() => JSON.stringify(event));
      await parentIdle();
      const fresh = parsedEvent(text);
      const h = await cpuMs(async () => {
        last = (await handler(fresh)) as Record<string, unknown>;
      });

      // The same steps one by one, on another freshly parsed event.
      await parentIdle();
      const again = parsedEvent(text);
      let payload!: ReturnType<typeof payloadFromEvent>;
      const serializeMs = await cpuMs(() => (payload = payloadFromEvent(again)));
      let sha256 = "";
      const sha256Ms = await cpuMs(() => (sha256 = sha256Hex(payload.bytes)));
      const meta: PayloadMeta = { id: randomUUID(), format: payload.format, size: payload.bytes.length, sha256, sentAt: new Date().toISOString() };
      let fit!: Awaited<ReturnType<typeof fitInline>>;
      const fitMs = await cpuMs(async () => (fit = await fitInline(meta, payload.bytes, { limitBytes: config.inlineLimitBytes, compress: config.compressInline })));
      let body: Buffer | undefined;
      const bodyMs = fit.fits ? await cpuMs(() => (body = fit.fits ? fit.envelope.body() : undefined)) : 0;
      const sendMs = await cpuMs(() =>
        body
          ? lambda.send(new InvokeCommand({ FunctionName: config.consumerFunction, InvocationType: "Event", Payload: body }))
          : loadS3(config.sdkTimeouts).then(({ client }) => putPayloadObject(config.bucket, payloadObjectKey(config.prefix, meta), payload.bytes, meta, client)),
      );
      let sendWithSdkDefaultsMs: number | undefined;
      if (!body) {
        await parentIdle();
        const { sdk, client } = await loadS3(config.sdkTimeouts);
        const key = payloadObjectKey(config.prefix, { ...meta, id: randomUUID() });
        const put = new sdk.PutObjectCommand({ Bucket: config.bucket, Key: key, Body: payload.bytes, ContentLength: payload.bytes.length, ContentType: contentType(meta), Metadata: toObjectMetadata(meta) });
        sendWithSdkDefaultsMs = await cpuMs(() => client.send(put));
      }
      if (i >= 2) {
        if (sendWithSdkDefaultsMs !== undefined) steps.sendWithSdkDefaultsMs.push(sendWithSdkDefaultsMs);
        stringify.push(s);
        sender.push(h);
        steps.serializeMs.push(serializeMs);
        steps.sha256Ms.push(sha256Ms);
        steps.fitMs.push(fitMs);
        steps.bodyMs.push(bodyMs);
        steps.sendMs.push(sendMs);
      }
    }
    const route = last.route === "s3" ? `s3 (${String(last.reason)})` : last.encoding ? `inline (${String(last.encoding)})` : "inline";
    const inlineSize = typeof last.inlineSize === "number" ? last.inlineSize : undefined;
    const breakdown = Object.fromEntries(Object.entries(steps).filter(([, xs]) => xs.length > 0).map(([k, xs]) => [k, median(xs)])) as unknown as Breakdown;
    const ratio = median(sender.map((h, i) => h / stringify[i]!));
    send({ type: "cpu-result", result: { ...c, payloadBytes, stringifyMs: median(stringify), senderMs: median(sender), ratio, route, ...(inlineSize !== undefined && { inlineSize }), breakdown } });
  }
  send({ type: "done" });
}

async function main(): Promise<void> {
  const [mode, bundle, file] = process.argv.slice(2);
  if (bundle === undefined) throw new Error("usage: probe <mode> <bundle> [file]");
  if (mode === "consumer-rss") {
    const text = readFileSync(file!, "utf8");
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
    const rssAfterImportBytes = process.memoryUsage.rss();
    let error: string | undefined;
    try {
      // The consumer's idempotency lock expires with the invocation: give it Lambda's clock.
      const deadline = Date.now() + 60_000;
      await handler(JSON.parse(text), { getRemainingTimeInMillis: () => deadline - Date.now() });
    } catch (err) {
      error = String(err);
    }
    // maxRSS is the peak of the whole process, in KiB: what Lambda reports as Max Memory Used.
    send({ type: "rss", maxRssBytes: process.resourceUsage().maxRSS * 1024, rssAfterImportBytes, ...(error !== undefined && { error }) });
    process.disconnect?.();
    return;
  }
  if (mode !== "sender-cpu") throw new Error(`unknown mode ${mode}`);
  const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
  process.on("message", (message: ProbeRequest) => {
    if (message.type === "idle-done") {
      idleWaiter?.();
      return;
    }
    // The SDK's keep-alive sockets would hold the process open; everything has been reported.
    void senderCpu(handler, message.cases, message.runs).then(() => process.exit(0));
  });
}

await main();
