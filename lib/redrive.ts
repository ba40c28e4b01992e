/**
 * Redrive: lists the records Lambda left in the consumer's S3 failure destination and replays
 * them. A record is removed only after the consumer processed its event without error; anything
 * else (a replay that fails again, an S3-route payload object that is gone, a record that cannot
 * be read) keeps the record and says why.
 *
 * A replay invokes the consumer with the record's `requestPayload`, the event exactly as Lambda
 * delivered it, synchronously (RequestResponse) so the outcome is known before the record is
 * removed; an Event invocation would only say that Lambda queued it.
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { describeError, isNoSuchKey } from "./aws-errors.ts";
import { failureRecordPrefix, summarizeFailureRecord, UnreadableRecordError, type FailureRecordSummary } from "./failure-records.ts";

export interface RedriveTarget {
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** The consumer's on-failure destination bucket. */
  readonly failureBucket: string;
  /** The consumer: records are read under its prefix, and replays invoke it. */
  readonly functionName: string;
}

export interface RecordFilter {
  /** Only records of these payload ids (or Lambda request ids). @default every record */
  readonly ids?: readonly string[];
  /** Only records at least this old, in milliseconds. */
  readonly olderThanMs?: number;
  /** Only records at most this old, in milliseconds. */
  readonly newerThanMs?: number;
}

export interface RedriveOptions {
  readonly filter?: RecordFilter;
  /** Replay the selected records. @default false: list them */
  readonly replay?: boolean;
  /** With `replay`: check what would happen, change nothing. @default false */
  readonly dryRun?: boolean;
  /** @default the current time */
  readonly now?: Date;
  /** Called with each record's outcome as soon as it is known. */
  readonly onEntry?: (entry: RedriveEntry) => void;
}

export type RecordOutcome =
  | { readonly kind: "listed" }
  | { readonly kind: "would-replay" }
  | { readonly kind: "replayed" }
  /** Redrive cannot deliver it again: the S3-route payload object no longer exists. Kept. */
  | { readonly kind: "payload-gone"; readonly objects: readonly string[] }
  /** The consumer failed again, or a call failed. Kept. */
  | { readonly kind: "replay-failed"; readonly error: string }
  | { readonly kind: "unreadable"; readonly error: string };

export interface RedriveEntry {
  readonly recordKey: string;
  /** Without the event, which can be a megabyte. */
  readonly summary: Omit<FailureRecordSummary, "event"> | undefined;
  readonly outcome: RecordOutcome;
}

export interface RedriveReport {
  readonly entries: readonly RedriveEntry[];
  /** Records that stay in the bucket because they could not be (or would not be) replayed. */
  readonly kept: number;
  readonly replayed: number;
}

/** Lists, and with `replay` replays, the consumer's failure records, oldest first. */
export async function redrive(target: RedriveTarget, options: RedriveOptions = {}): Promise<RedriveReport> {
  const now = options.now ?? new Date();
  const entries: RedriveEntry[] = [];
  for (const key of await listRecordKeys(target)) {
    const entry = await handleRecord(target, key, now, options);
    if (!entry) continue;
    entries.push(entry);
    options.onEntry?.(entry);
  }
  const bad = (e: RedriveEntry) => e.outcome.kind === "payload-gone" || e.outcome.kind === "replay-failed" || e.outcome.kind === "unreadable";
  return {
    entries,
    kept: entries.filter(bad).length,
    replayed: entries.filter((e) => e.outcome.kind === "replayed").length,
  };
}

async function listRecordKeys(target: RedriveTarget): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await target.s3.send(
      new ListObjectsV2Command({ Bucket: target.failureBucket, Prefix: failureRecordPrefix(target.functionName), ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  // Keys carry the time down to the second, so this is oldest first.
  return keys.sort();
}

async function handleRecord(target: RedriveTarget, recordKey: string, now: Date, options: RedriveOptions): Promise<RedriveEntry | undefined> {
  const filter = options.filter ?? {};
  let summary: FailureRecordSummary;
  try {
    const object = await target.s3.send(new GetObjectCommand({ Bucket: target.failureBucket, Key: recordKey }));
    summary = summarizeFailureRecord(recordKey, (await object.Body?.transformToString("utf8")) ?? "", now);
  } catch (err) {
    if (isNoSuchKey(err)) return undefined; // removed since the listing, by another redrive
    if (!(err instanceof UnreadableRecordError)) throw err;
    // An id filter cannot match what cannot be read; without one, the operator must see it.
    return filter.ids === undefined ? { recordKey, summary: undefined, outcome: { kind: "unreadable", error: err.message } } : undefined;
  }
  if (!matches(summary, filter)) return undefined;
  const { event: _event, ...listed } = summary;
  if (!options.replay) return { recordKey, summary: listed, outcome: { kind: "listed" } };
  return { recordKey, summary: listed, outcome: await replay(target, summary, options.dryRun ?? false) };
}

function matches(s: FailureRecordSummary, f: RecordFilter): boolean {
  if (f.ids !== undefined) {
    const ids = new Set([s.requestId, ...(s.id?.split(",") ?? [])]);
    if (!f.ids.some((id) => ids.has(id))) return false;
  }
  if (f.olderThanMs !== undefined && s.ageMs < f.olderThanMs) return false;
  if (f.newerThanMs !== undefined && s.ageMs > f.newerThanMs) return false;
  return true;
}

async function replay(target: RedriveTarget, summary: FailureRecordSummary, dryRun: boolean): Promise<RecordOutcome> {
  // The consumer treats a missing object as an already processed duplicate and succeeds, so a
  // replay would "succeed" and remove the only trace of a payload that expired unprocessed.
  const gone: string[] = [];
  for (const o of summary.objects) {
    try {
      await target.s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: o.key }));
    } catch (err) {
      if (isNoSuchKey(err)) gone.push(`s3://${o.bucket}/${o.key}`);
      else return { kind: "replay-failed", error: `cannot check s3://${o.bucket}/${o.key}: ${describeError(err)}` };
    }
  }
  if (gone.length > 0) return { kind: "payload-gone", objects: gone };
  if (dryRun) return { kind: "would-replay" };

  let out;
  try {
    out = await target.lambda.send(
      new InvokeCommand({ FunctionName: target.functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(summary.event)) }),
    );
  } catch (err) {
    return { kind: "replay-failed", error: `invoking ${target.functionName} failed: ${describeError(err)}` };
  }
  if (out.FunctionError !== undefined) {
    const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
    let detail = text;
    try {
      const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
      detail = `${e.errorType ?? "Error"}: ${e.errorMessage ?? text}`;
    } catch {
      // keep the raw body
    }
    return { kind: "replay-failed", error: `${target.functionName} failed again (${out.FunctionError}): ${detail}` };
  }
  try {
    await target.s3.send(new DeleteObjectCommand({ Bucket: target.failureBucket, Key: summary.recordKey }));
  } catch (err) {
    return { kind: "replay-failed", error: `replayed, but the record could not be removed: ${describeError(err)}` };
  }
  return { kind: "replayed" };
}
