/**
 * `npm run bench`: one command, every ratio measured in this one run on this machine, printed as
 * tables and written as JSON (`--out`, default bench-results.json). Not a test: on a shared
 * machine the figures move from run to run; the ratios are what to compare.
 *
 *   cold start      a new node importing each bundle (and sending once), relative to `node -e 0`
 *   compression     gzip and brotli levels on benchmark payloads: bytes saved per ms
 *   sender CPU      CPU per payload in the sender bundle, relative to one JSON.stringify of the event
 *   consumer RSS    peak RSS of a fresh consumer handling one payload, per route and size
 *   inline reach    the largest sample-shaped (and record) JSON that stays inline
 *   size mix        inline / inline compressed / S3 shares for a mix of sizes, compression on and off
 *   latency         end to end through the local cloud, per route
 *
 * Options: --quick (fewer runs), --out <file>, --cold-runs <n>.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { bundleFunction, bundleHandlers, PROJECT_ROOT, type Bundle, type FunctionRole } from "../bundling/bundle.ts";
import { invokeSender, localLambdaClient, LOCAL_CREDENTIALS } from "../cli/sender-client.ts";
import { BROTLI_QUALITY, compressWithin } from "../lib/compression.ts";
import { consumerEnvironment, DEFAULTS, EVENT_PAYLOAD_LIMIT_BYTES, senderEnvironment } from "../lib/contract.ts";
import { fitInline, sha256Hex, type PayloadMeta } from "../lib/payload-codec.ts";
import { toObjectMetadata } from "../lib/payload-object.ts";
import { startLocalCloud, type LocalCloud } from "../local/cloud.ts";
import { waitForDelivery } from "../local/deliveries.ts";
import { startLocalDynamoDb } from "../local/dynamodb.ts";
import { startLocalS3 } from "../local/s3.ts";
import { benchEvent, PAYLOAD_KINDS, type PayloadKind } from "./payloads.ts";
import type { CpuCase, CpuResult, ProbeReply, ProbeRequest } from "./probe.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const option = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const outFile = path.resolve(option("--out") ?? path.join(PROJECT_ROOT, "bench-results.json"));
const coldRuns = Number(option("--cold-runs") ?? (quick ? 9 : 21));
const cpuRuns = quick ? 3 : 9;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = new Intl.NumberFormat("en-US");
const ratio = (x: number) => `${x.toFixed(2)}x`;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const mb = (x: number) => `${(x / MiB).toFixed(1)} MB`;
const sizeLabel = (b: number) => (b >= MiB ? `${+(b / MiB).toFixed(2)} MiB` : `${+(b / KiB).toFixed(1)} KiB`);

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(line(widths.map((w) => "─".repeat(w))));
  for (const r of rows) console.log(line(r));
}

function step(label: string): void {
  process.stdout.write(`▸ ${label}\n`);
}

/**
 * Runs a process to its end; resolves with the wall time from spawn to exit, and the CPU time it
 * reported on stderr (`cpu <µs>`), if it did.
 */
function timedRun(args: string[], env: Record<string, string>): Promise<{ wallMs: number; cpuMs?: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const cpu = /^cpu (\d+)$/m.exec(stderr)?.[1];
      if (code === 0) resolve({ wallMs, ...(cpu !== undefined && { cpuMs: Number(cpu) / 1000 }) });
      else reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`));
    });
  });
}

/** The environment a deployed function gets, pointed at the local cloud. */
function functionEnv(cloud: LocalCloud, own: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: os.tmpdir(),
    AWS_REGION: cloud.region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL_LAMBDA: cloud.lambdaEndpoint,
    AWS_ENDPOINT_URL_S3: cloud.s3Endpoint,
    ...own,
  };
}

// ─── cold start ────────────────────────────────────────────────────────────────────────────────

interface ColdStartRow {
  name: string;
  medianMs: number;
  ratio: number;
  /** CPU time of the whole process (user + system), from separate runs that report it at exit. */
  medianCpuMs: number;
  cpuRatio: number;
}

async function coldStart(cloud: LocalCloud, bundles: Record<FunctionRole, Bundle>): Promise<ColdStartRow[]> {
  step(`cold start: ${coldRuns} runs of each, interleaved; then as many that report their CPU time`);
  // One environment for every case: the consumer reads its own variables at import too.
  const senderEnv = functionEnv(cloud, { ...consumerEnvironment(cloud.settings), ...senderEnvironment(cloud.settings) });
  // A second set of runs reports CPU time at exit; wall times come from runs without that hook.
  const reportCpu = 'process.on("exit", () => process._rawDebug("cpu " + (process.cpuUsage().user + process.cpuUsage().system)));';
  const esm = (code: string, cpu: boolean) => ["--input-type=module", "-e", `${cpu ? reportCpu : ""}${code}`];
  const cases: Record<string, (cpu: boolean) => string[]> = {
    "node -e 0": (cpu) => ["-e", cpu ? reportCpu : "0"],
    "sender: import": (cpu) => esm(`await import(${JSON.stringify(bundles.sender.file)});`, cpu),
    "consumer: import": (cpu) => esm(`await import(${JSON.stringify(bundles.consumer.file)});`, cpu),
    "sender: import + first inline send": (cpu) =>
      esm(`const { handler } = await import(${JSON.stringify(bundles.sender.file)}); await handler({ key: "value" }); process.exit(0);`, cpu),
  };
  // lib/idempotency.ts loads Powertools and the DynamoDB client on the first payload; this bundle
  // imports them up front, to show what that first payload adds to a cold consumer.
  const eagerDir = mkdtempSync(path.join(os.tmpdir(), "bench-eager-"));
  await bundleFunction({ entry: "bench/consumer-eager-idempotency.ts", outDir: eagerDir, workingDir: PROJECT_ROOT });
  cases["consumer: import, idempotency up front"] = (cpu) => esm(`await import(${JSON.stringify(path.join(eagerDir, "index.mjs"))});`, cpu);
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let i = 0; i < coldRuns; i++) {
    for (const [name, args] of Object.entries(cases)) {
      await cloud.idle();
      (wall[name] ??= []).push((await timedRun(args(false), senderEnv)).wallMs);
    }
  }
  for (let i = 0; i < coldRuns; i++) {
    for (const [name, args] of Object.entries(cases)) {
      await cloud.idle();
      const { cpuMs } = await timedRun(args(true), senderEnv);
      if (cpuMs === undefined) throw new Error(`${name} did not report its CPU time`);
      (cpu[name] ??= []).push(cpuMs);
    }
  }
  const base = median(wall["node -e 0"]!);
  const cpuBase = median(cpu["node -e 0"]!);
  return Object.keys(cases).map((name) => ({
    name,
    medianMs: median(wall[name]!),
    ratio: median(wall[name]!) / base,
    medianCpuMs: median(cpu[name]!),
    cpuRatio: median(cpu[name]!) / cpuBase,
  }));
}

// ─── compression candidates ───────────────────────────────────────────────────────────────────

interface CompressionRow {
  data: string;
  candidate: string;
  bytes: number;
  outBytes: number;
  ms: number;
  savedKBPerMs: number;
}

function cpuOf(work: () => unknown, runs: number): number {
  work();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    xs.push((used.user + used.system) / 1000);
  }
  return median(xs);
}

async function compressionCandidates(): Promise<CompressionRow[]> {
  step("compression candidates");
  const data: Array<[string, Buffer]> = [
    ["seed JSON 1 MiB", Buffer.from(benchEvent("seed JSON", MiB).text)],
    ["seed JSON 6 MiB", Buffer.from(benchEvent("seed JSON", 6 * MiB).text)],
    ["records JSON 1 MiB", Buffer.from(benchEvent("records JSON", MiB).text)],
  ];
  const br = (q: number) => (b: Buffer) => brotliCompressSync(b, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: q, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: b.length } });
  const candidates: Array<[string, (b: Buffer) => Buffer]> = [
    ["gzip 1", (b) => gzipSync(b, { level: 1 })],
    ["gzip 6", (b) => gzipSync(b, { level: 6 })],
    ["brotli 0", br(0)],
    ["brotli 1", br(1)],
    ["brotli 2", br(2)],
    ["brotli 4", br(4)],
  ];
  const rows: CompressionRow[] = [];
  for (const [name, bytes] of data) {
    for (const [candidate, fn] of candidates) {
      const outBytes = fn(bytes).length;
      const t = cpuOf(() => fn(bytes), quick ? 3 : 5);
      rows.push({ data: name, candidate, bytes: bytes.length, outBytes, ms: t, savedKBPerMs: (bytes.length - outBytes) / 1000 / t });
    }
    // What the sender runs: the chosen quality with a small window, streamed so it can stop early.
    let outBytes = 0;
    const times: number[] = [];
    for (let i = 0; i < (quick ? 4 : 6); i++) {
      const start = process.cpuUsage();
      const out = await compressWithin(bytes, Number.POSITIVE_INFINITY);
      const used = process.cpuUsage(start);
      if (out.fits) outBytes = out.bytes.length;
      if (i > 0) times.push((used.user + used.system) / 1000);
    }
    const t = median(times);
    rows.push({ data: name, candidate: `brotli ${BROTLI_QUALITY}, as sent`, bytes: bytes.length, outBytes, ms: t, savedKBPerMs: (bytes.length - outBytes) / 1000 / t });
  }
  return rows;
}

// ─── sender CPU ───────────────────────────────────────────────────────────────────────────────

async function senderCpu(cloud: LocalCloud, bundles: Record<FunctionRole, Bundle>, probe: string): Promise<CpuResult[]> {
  const cases: CpuCase[] = [];
  for (const kind of PAYLOAD_KINDS) for (const bytes of [64 * KiB, MiB, 6 * MiB]) cases.push({ kind, bytes });
  step(`sender CPU: ${cases.length} payloads, median of ${cpuRuns} each`);
  const child = spawn(process.execPath, ["--expose-gc", probe, "sender-cpu", bundles.sender.file], {
    env: functionEnv(cloud, senderEnvironment(cloud.settings)),
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    serialization: "advanced",
  });
  const results: CpuResult[] = [];
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => (results.length === cases.length ? resolve() : reject(new Error(`sender probe exited ${code}`))));
    child.on("message", (message: ProbeReply) => {
      if (message.type === "idle?") void cloud.idle().then(() => child.send({ type: "idle-done" } satisfies ProbeRequest));
      else if (message.type === "cpu-result") results.push(message.result);
      else if (message.type === "done") child.kill();
    });
    child.send({ type: "cpu", cases, runs: cpuRuns } satisfies ProbeRequest);
  });
  return results;
}

// ─── consumer peak RSS ────────────────────────────────────────────────────────────────────────

interface RssRow {
  route: string;
  kind: PayloadKind;
  payloadBytes: number;
  maxRssBytes: number;
  rssAfterImportBytes: number;
}

async function consumerRss(bundles: Record<FunctionRole, Bundle>, probe: string, dir: string): Promise<RssRow[]> {
  step("consumer peak RSS: a fresh consumer per payload");
  // Its own S3 without a notification, so nothing else reads or deletes the objects.
  const s3 = await startLocalS3({ bucket: "bench-rss" });
  const dynamodb = await startLocalDynamoDb({ tables: ["bench-rss-idempotency"] });
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  const settings = { senderName: "s", consumerName: "c", bucket: s3.bucket, prefix: "bench/", inlineLimitBytes: EVENT_PAYLOAD_LIMIT_BYTES, alwaysS3: false, compressInline: true, deleteAfterProcessing: false, idempotencyTable: "bench-rss-idempotency", idempotencyExpiresAfterSeconds: DEFAULTS.idempotencyExpiresAfterSeconds, sdkConnectionTimeoutMs: DEFAULTS.sdkConnectionTimeoutMs, sdkRequestTimeoutMs: DEFAULTS.sdkRequestTimeoutMs };
  const env = { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint, ...consumerEnvironment(settings) };
  const cases: Array<[string, PayloadKind, number]> = [
    ["inline", "records JSON", 64 * KiB],
    ["inline", "records JSON", 1_000_000],
    ["inline (br)", "seed JSON", MiB],
    ["inline (br)", "seed JSON", 6 * MiB],
    ["s3", "binary", MiB],
    ["s3", "binary", 6 * MiB],
    ["s3", "records JSON", 6 * MiB],
  ];
  const rows: RssRow[] = [];
  try {
    for (const [route, kind, size] of cases) {
      const ev = benchEvent(kind, size);
      const parsed = JSON.parse(ev.text) as { $base64?: string };
      const bytes = kind === "binary" ? Buffer.from(parsed.$base64!, "base64") : Buffer.from(ev.text);
      const meta: PayloadMeta = { id: `rss-${rows.length}`, format: kind === "binary" ? "binary" : "json", size: bytes.length, sha256: sha256Hex(bytes), sentAt: new Date().toISOString() };
      let event: string;
      if (route === "s3") {
        const key = `bench/${meta.id}.bin`;
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes, Metadata: toObjectMetadata(meta) }));
        event = JSON.stringify({ Records: [{ eventSource: "aws:s3", eventName: "ObjectCreated:Put", s3: { bucket: { name: s3.bucket }, object: { key, size: bytes.length } } }] });
      } else {
        const fit = await fitInline(meta, bytes, { limitBytes: EVENT_PAYLOAD_LIMIT_BYTES, compress: route !== "inline" });
        if (!fit.fits) throw new Error(`${kind} ${size} does not fit inline`);
        event = fit.envelope.body().toString("utf8");
      }
      const file = path.join(dir, `event-${rows.length}.json`);
      writeFileSync(file, event);
      const reply = await new Promise<ProbeReply>((resolve, reject) => {
        const child = spawn(process.execPath, [probe, "consumer-rss", bundles.consumer.file, file], { env, stdio: ["ignore", "ignore", "inherit", "ipc"] });
        child.on("message", resolve);
        child.on("error", reject);
        child.on("exit", (code) => reject(new Error(`consumer probe exited ${code} without a result`)));
      });
      if (reply.type !== "rss" || reply.error) throw new Error(`consumer failed on ${route} ${kind}: ${JSON.stringify(reply)}`);
      rows.push({ route, kind, payloadBytes: bytes.length, maxRssBytes: reply.maxRssBytes, rssAfterImportBytes: reply.rssAfterImportBytes });
    }
  } finally {
    client.destroy();
    await Promise.all([s3.close(), dynamodb.close()]);
  }
  return rows;
}

// ─── inline reach and size mix ────────────────────────────────────────────────────────────────

const META = { id: "00000000-0000-4000-8000-000000000000", format: "json", sha256: "0".repeat(64), sentAt: "2026-01-01T00:00:00.000Z" } as const;

async function routeOf(bytes: Buffer, format: "json" | "binary", compress: boolean): Promise<"inline" | "inline (br)" | "s3"> {
  const fit = await fitInline({ ...META, format, size: bytes.length }, bytes, { limitBytes: EVENT_PAYLOAD_LIMIT_BYTES, compress });
  return !fit.fits ? "s3" : "encoding" in fit.envelope ? "inline (br)" : "inline";
}

interface Reach {
  kind: PayloadKind;
  largestInlineBytes: number;
  /** True when the search stopped at the top of its range, not at a payload that did not fit. */
  atCeiling: boolean;
  ceilingBytes: number;
}

/** JSON texts of growing arrays share their prefix: cut the one big text at record boundaries. */
function prefixes(kind: PayloadKind, maxBytes: number): { text: string; ends: number[] } {
  const text = benchEvent(kind, maxBytes).text;
  const ends: number[] = [];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 1 && c === "}") ends.push(i + 1);
    }
  }
  return { text, ends };
}

async function inlineReach(): Promise<Reach[]> {
  step("inline reach: the largest JSON that stays inline");
  const ceiling = 16 * MiB;
  const out: Reach[] = [];
  for (const kind of ["seed JSON", "records JSON"] as const) {
    const { text, ends } = prefixes(kind, ceiling);
    const payload = (n: number) => Buffer.from(`${text.slice(0, ends[n - 1])}]`);
    let lo = 1;
    let hi = ends.length;
    if ((await routeOf(payload(hi), "json", true)) !== "s3") {
      out.push({ kind, largestInlineBytes: payload(hi).length, atCeiling: true, ceilingBytes: ceiling });
      continue;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await routeOf(payload(mid), "json", true)) === "s3") hi = mid;
      else lo = mid;
    }
    out.push({ kind, largestInlineBytes: payload(lo).length, atCeiling: false, ceilingBytes: ceiling });
  }
  return out;
}

interface MixResult {
  payloads: number;
  description: string;
  compressionOn: Record<string, number>;
  compressionOff: Record<string, number>;
}

async function sizeMix(): Promise<MixResult> {
  const n = quick ? 60 : 200;
  const description = `${n} payloads, sizes log-uniform from 1 KiB to 6 MiB; 60% records JSON, 20% sample-shaped JSON, 20% random binary`;
  step(`size mix: ${description}`);
  const records = prefixes("records JSON", 6 * MiB);
  const seed = prefixes("seed JSON", 6 * MiB);
  const binary = Buffer.from((JSON.parse(benchEvent("binary", 6 * MiB).text) as { $base64: string }).$base64, "base64");
  const cut = (p: { text: string; ends: number[] }, size: number) => {
    const i = p.ends.findIndex((e) => e + 1 >= size);
    return Buffer.from(`${p.text.slice(0, p.ends[i < 0 ? p.ends.length - 1 : i])}]`);
  };
  let state = 42;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const on: Record<string, number> = { inline: 0, "inline (br)": 0, s3: 0 };
  const off: Record<string, number> = { inline: 0, "inline (br)": 0, s3: 0 };
  for (let i = 0; i < n; i++) {
    const size = Math.round(KiB * Math.exp(next() * Math.log((6 * MiB) / KiB)));
    const pick = next();
    const [bytes, format] = pick < 0.6 ? [cut(records, size), "json" as const] : pick < 0.8 ? [cut(seed, size), "json" as const] : [binary.subarray(0, size), "binary" as const];
    on[await routeOf(bytes, format, true)]! += 1;
    off[await routeOf(bytes, format, false)]! += 1;
  }
  return { payloads: n, description, compressionOn: on, compressionOff: off };
}

// ─── end-to-end latency ───────────────────────────────────────────────────────────────────────

interface LatencyRow {
  route: string;
  payload: string;
  payloadBytes: number;
  senderMs: number;
  deliveryMs: number;
  totalMs: number;
}

async function latency(cloud: LocalCloud): Promise<LatencyRow[]> {
  const runs = quick ? 3 : 7;
  step(`latency through the local cloud: median of ${runs} per route`);
  const client = localLambdaClient(cloud.lambdaEndpoint, cloud.region);
  const cases: Array<[string, PayloadKind, number]> = [
    ["inline", "records JSON", 16 * KiB],
    ["inline (br)", "seed JSON", 1_500_000],
    ["s3 (too-large)", "binary", 1_500_000],
  ];
  const rows: LatencyRow[] = [];
  try {
    for (const [expected, kind, size] of cases) {
      const ev = benchEvent(kind, size);
      const body = Buffer.from(ev.text);
      const sender: number[] = [];
      const delivery: number[] = [];
      const total: number[] = [];
      for (let i = 0; i < runs + 1; i++) {
        await cloud.idle();
        const started = performance.now();
        const r = await invokeSender(client, cloud.settings.senderName, body);
        const d = await waitForDelivery(cloud, r.id);
        const t = performance.now() - started;
        const route = r.route === "s3" ? `s3 (${r.reason})` : r.encoding ? `inline (${r.encoding})` : "inline";
        if (route !== expected) throw new Error(`${kind} ${size}: expected ${expected}, got ${route}`);
        if (i === 0) continue;
        sender.push(r.elapsedMs);
        delivery.push(d.latencyMs);
        total.push(t);
      }
      rows.push({ route: expected, payload: `${kind} ${sizeLabel(size)}`, payloadBytes: ev.payloadBytes, senderMs: median(sender), deliveryMs: median(delivery), totalMs: median(total) });
    }
  } finally {
    client.destroy();
  }
  return rows;
}

// ─── main ─────────────────────────────────────────────────────────────────────────────────────

interface Target {
  target: string;
  measured: string;
  met: boolean;
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpu = os.cpus();
  const machine = { node: process.version, cores: cpu.length, cpuModel: cpu[0]?.model ?? "unknown", platform: `${os.platform()} ${os.arch()}`, loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)) };
  console.log(`npm run bench: node ${machine.node}, ${machine.cores} × ${machine.cpuModel}, load average ${machine.loadAverageAtStart.join(" ")}${quick ? " (quick)" : ""}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-"));
  let cloud: LocalCloud | undefined;
  try {
    step("bundling the handlers and the probe");
    const bundles = await bundleHandlers({ outDir: path.join(dir, "bundles") });
    // Bundled like the handlers, so it runs under plain node as they do.
    await bundleFunction({ entry: "bench/probe.ts", outDir: path.join(dir, "probe"), workingDir: PROJECT_ROOT, target: `node${process.versions.node.split(".")[0]}`, handlerExport: false });
    const probe = path.join(dir, "probe", "index.mjs");
    cloud = await startLocalCloud({ bundles });

    const cold = await coldStart(cloud, bundles);
    const compression = await compressionCandidates();
    const cpuResults = await senderCpu(cloud, bundles, probe);
    const rss = await consumerRss(bundles, probe, dir);
    const reach = await inlineReach();
    const mix = await sizeMix();
    const lat = await latency(cloud);

    table(`Cold start (median of ${coldRuns} new processes each)`, ["", "wall", "vs node -e 0", "CPU", "vs node -e 0"], cold.map((r) => [r.name, ms(r.medianMs), ratio(r.ratio), ms(r.medianCpuMs), ratio(r.cpuRatio)]));
    table("Compression candidates (CPU ms, median)", ["data", "candidate", "ratio", "ms", "saved KB/ms"], compression.map((r) => [r.data, r.candidate, `${(r.bytes / r.outBytes).toFixed(1)}x`, r.ms.toFixed(2), r.savedKBPerMs.toFixed(0)]));
    table(`Sender CPU per payload vs one JSON.stringify of the same event (medians of ${cpuRuns}; ratio: median of the per-run ratios)`, ["payload", "bytes", "route", "stringify", "sender", "ratio"], cpuResults.map((r) => [`${r.kind} ${sizeLabel(r.bytes)}`, fmt.format(r.payloadBytes), r.route, ms(r.stringifyMs), ms(r.senderMs), ratio(r.ratio)]));
    const b = (r: CpuResult, x: number) => `${(x / r.stringifyMs).toFixed(2)}`;
    table(
      "Where the sender's time goes, in units of one JSON.stringify (each step timed alone, median)",
      ["payload", "serialize", "sha256", "fit/compress", "body", "SDK send", "sum", "handler", "PutObject, SDK defaults"],
      cpuResults.map((r) => {
        const x = r.breakdown;
        const sum = x.serializeMs + x.sha256Ms + x.fitMs + x.bodyMs + x.sendMs;
        const defaults = x.sendWithSdkDefaultsMs === undefined ? "" : b(r, x.sendWithSdkDefaultsMs);
        return [`${r.kind} ${sizeLabel(r.bytes)}`, b(r, x.serializeMs), b(r, x.sha256Ms), b(r, x.fitMs), b(r, x.bodyMs), b(r, x.sendMs), b(r, sum), b(r, r.senderMs), defaults];
      }),
    );
    table("Consumer peak RSS (a fresh process per payload)", ["route", "payload", "bytes", "RSS after import", "peak RSS", "peak - import"], rss.map((r) => [r.route, r.kind, fmt.format(r.payloadBytes), mb(r.rssAfterImportBytes), mb(r.maxRssBytes), mb(r.maxRssBytes - r.rssAfterImportBytes)]));
    table(`Largest JSON that stays inline (limit ${fmt.format(EVENT_PAYLOAD_LIMIT_BYTES)} bytes, searched up to 16 MiB)`, ["payload", "largest inline"], reach.map((r) => [r.kind, `${fmt.format(r.largestInlineBytes)} bytes${r.atCeiling ? " (every size searched)" : ""}`]));
    table(`Size mix: ${mix.description}`, ["", "inline", "inline (br)", "s3"], [
      ["compression on", ...["inline", "inline (br)", "s3"].map((k) => `${Math.round((100 * mix.compressionOn[k]!) / mix.payloads)}%`)],
      ["compression off", ...["inline", "inline (br)", "s3"].map((k) => `${Math.round((100 * mix.compressionOff[k]!) / mix.payloads)}%`)],
    ]);
    table(`End-to-end latency through the local cloud (median; local S3 notifies at once, real S3 takes seconds)`, ["route", "payload", "sender", "delivery", "total"], lat.map((r) => [r.route, r.payload, ms(r.senderMs), ms(r.deliveryMs), ms(r.totalMs)]));

    const coldRatio = (name: string) => cold.find((r) => r.name === name)!.ratio;
    const seedReach = reach.find((r) => r.kind === "seed JSON")!;
    const targets: Target[] = [];
    for (const size of [MiB, 6 * MiB]) {
      for (const r of cpuResults.filter((x) => x.bytes === size)) {
        const x = r.ratio;
        targets.push({ target: `sender CPU ≤ 1.5x stringify: ${r.kind} ${sizeLabel(size)}`, measured: `${ratio(x)} (${r.route})`, met: x <= 1.5 });
      }
    }
    targets.push({ target: "seed-shaped JSON ≥ 5 MiB stays inline", measured: `${fmt.format(seedReach.largestInlineBytes)} bytes${seedReach.atCeiling ? "+" : ""}`, met: seedReach.largestInlineBytes >= 5 * MiB });
    targets.push({ target: "sender cold import ≤ 2x node -e 0", measured: ratio(coldRatio("sender: import")), met: coldRatio("sender: import") <= 2 });
    targets.push({ target: "consumer cold import ≤ 1.4x node -e 0", measured: ratio(coldRatio("consumer: import")), met: coldRatio("consumer: import") <= 1.4 });
    table("Targets", ["target", "measured", ""], targets.map((t) => [t.target, t.measured, t.met ? "met" : "MISSED"]));

    const durationS = Math.round((performance.now() - started) / 1000);
    const loadAverageAtEnd = os.loadavg().map((x) => +x.toFixed(2));
    writeFileSync(
      outFile,
      `${JSON.stringify({ machine: { ...machine, loadAverageAtEnd }, date: new Date().toISOString(), quick, durationS, coldStart: cold, compression, senderCpu: cpuResults, consumerRss: rss, inlineReach: reach, sizeMix: mix, latency: lat, targets }, null, 2)}\n`,
    );
    console.log(`\n${targets.filter((t) => !t.met).length} of ${targets.length} targets missed. ${durationS} s; load average at the end ${loadAverageAtEnd.join(" ")}. Results: ${path.relative(process.cwd(), outFile) || outFile}`);
  } finally {
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
