/**
 * Redrive: lists the records Lambda left in the consumer's S3 failure destination, replays them,
 * or discards the ones that can never be replayed. A record is removed after a replay only when
 * the consumer answered that it processed the payload, or that its idempotency store records the
 * payload as processed; anything else (a replay that fails again, a payload object that is gone
 * and was never processed, a record that cannot be read) keeps the record and says why.
 *
 * A replay invokes the consumer with the record's `requestPayload`, the event exactly as Lambda
 * delivered it, synchronously (RequestResponse) so the outcome is known before the record is
 * removed; an Event invocation would only say that Lambda queued it. The consumer's answer (the
 * ids it processed and the ids it absorbed as repeats) is what the summary counts, so two runs at
 * once count each payload once between them.
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { describeError, isNoSuchKey } from "./aws-errors.ts";
import { MULTIPART_METADATA, OBJECT_METADATA } from "./contract.ts";
import { failureRecordPrefix, recordKeyTime, summarizeFailureRecord, UnreadableRecordError, type FailureRecordSummary } from "./failure-records.ts";

export interface RedriveTarget {
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** The consumer's on-failure destination bucket. */
  readonly failureBucket: string;
  /** The consumer: records are read under its prefix, and replays invoke it. */
  readonly functionName: string;
}

export interface RecordFilter {
  /** Only records of these payload ids, Lambda request ids or record keys. @default every record */
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
  /**
   * Remove the selected records that can never be replayed (see {@link canNeverReplay}), after
   * `confirm` agreed to the list. Not with `replay`.
   */
  readonly discard?: { readonly confirm: (discardable: readonly RedriveEntry[]) => Promise<boolean> };
  /**
   * Waits before replaying again a record whose payload another delivery is processing right now
   * (the consumer's PayloadInProgressError), as Lambda would retry it.
   * @default [1000, 2000, 4000, 8000, 15000]
   */
  readonly inProgressRetryDelaysMs?: readonly number[];
  /** @default the current time */
  readonly now?: Date;
  /** Called with each record's outcome as soon as it is known. */
  readonly onEntry?: (entry: RedriveEntry) => void;
}

export type RecordOutcome =
  /** `gone`: payload objects the event points at that no longer exist. */
  | { readonly kind: "listed"; readonly gone: readonly string[] }
  | { readonly kind: "would-replay" }
  /** The consumer processed the payload in this run; the record was removed. */
  | { readonly kind: "replayed" }
  /** The consumer's idempotency store records every payload as processed already; the record was removed. */
  | { readonly kind: "already-processed" }
  /** Another run (or an operator) removed the record meanwhile. */
  | { readonly kind: "removed-elsewhere" }
  /**
   * The payload object is gone: it can never be replayed. Kept. `checked`: the consumer's
   * idempotency store was asked and does not record the payload as processed (a dry run asks nothing).
   */
  | { readonly kind: "payload-gone"; readonly objects: readonly string[]; readonly checked: boolean }
  /** The consumer failed again, or a call failed. Kept. */
  | { readonly kind: "replay-failed"; readonly error: string }
  | { readonly kind: "unreadable"; readonly error: string }
  /** `discard` removed it: it could never be replayed (`why`). */
  | { readonly kind: "discarded"; readonly why: string }
  /** `discard` left it: it can be replayed, or the operator did not confirm (`why`). */
  | { readonly kind: "not-discarded"; readonly why: string };

export interface RedriveEntry {
  readonly recordKey: string;
  /** Without the event, which can be a megabyte. */
  readonly summary: Omit<FailureRecordSummary, "event"> | undefined;
  readonly outcome: RecordOutcome;
}

export interface RedriveReport {
  readonly entries: readonly RedriveEntry[];
  /** Records that stay in the bucket because they could not be (or would not be) replayed, or were not discarded. */
  readonly kept: number;
  /** Records whose payload this run processed. */
  readonly replayed: number;
  /** Records removed because their payload was processed before (a repeat the store absorbed). */
  readonly alreadyProcessed: number;
  /** Records another run removed while this one worked. */
  readonly removedElsewhere: number;
  readonly discarded: number;
}

const KEPT: ReadonlySet<RecordOutcome["kind"]> = new Set(["payload-gone", "replay-failed", "unreadable", "not-discarded"]);

/** Lists, replays or discards the consumer's failure records, oldest first. */
export async function redrive(target: RedriveTarget, options: RedriveOptions = {}): Promise<RedriveReport> {
  const now = options.now ?? new Date();
  let entries: RedriveEntry[] = [];
  for (const key of await listRecordKeys(target)) {
    const entry = await handleRecord(target, key, now, options);
    if (!entry) continue;
    entries.push(entry);
    if (!options.discard) options.onEntry?.(entry);
  }
  if (options.discard) entries = await discard(target, entries, options.discard.confirm, options.onEntry);
  const count = (kind: RecordOutcome["kind"]) => entries.filter((e) => e.outcome.kind === kind).length;
  return {
    entries,
    kept: entries.filter((e) => KEPT.has(e.outcome.kind)).length,
    replayed: count("replayed"),
    alreadyProcessed: count("already-processed"),
    removedElsewhere: count("removed-elsewhere"),
    discarded: count("discarded"),
  };
}

/**
 * Why a record can never be replayed, or undefined if it can: it cannot be read, its event is no
 * payload event, or its payload objects are gone (a payload whose object is gone is processed by
 * no replay; if it was processed before, its record has nothing left to do either).
 */
export function canNeverReplay(entry: RedriveEntry): string | undefined {
  const o = entry.outcome;
  if (o.kind === "unreadable") return `unreadable record: ${o.error}`;
  if (entry.summary?.route === "other") return "its event is neither an inline payload nor an S3 notification";
  if (o.kind === "listed" && o.gone.length > 0) return `the payload object is gone: ${o.gone.join(", ")}`;
  return undefined;
}

async function discard(target: RedriveTarget, entries: RedriveEntry[], confirm: (d: readonly RedriveEntry[]) => Promise<boolean>, onEntry: RedriveOptions["onEntry"]): Promise<RedriveEntry[]> {
  const discardable = entries.filter((e) => canNeverReplay(e) !== undefined);
  const confirmed = discardable.length > 0 && (await confirm(discardable));
  const out: RedriveEntry[] = [];
  for (const entry of entries) {
    const why = canNeverReplay(entry);
    let outcome: RecordOutcome;
    if (why === undefined) outcome = { kind: "not-discarded", why: "it can be replayed (npm run redrive -- --replay)" };
    else if (!confirmed) outcome = { kind: "not-discarded", why: "not confirmed" };
    else {
      try {
        await target.s3.send(new DeleteObjectCommand({ Bucket: target.failureBucket, Key: entry.recordKey }));
        outcome = { kind: "discarded", why };
      } catch (err) {
        outcome = { kind: "not-discarded", why: `the delete failed: ${describeError(err)}` };
      }
    }
    const done = { ...entry, outcome };
    out.push(done);
    onEntry?.(done);
  }
  return out;
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
    if (isNoSuchKey(err)) {
      // Removed since the listing, by another redrive.
      return options.replay && !options.dryRun ? { recordKey, summary: undefined, outcome: { kind: "removed-elsewhere" } } : undefined;
    }
    if (!(err instanceof UnreadableRecordError)) throw err;
    // Only its key is known: its time, and the key itself as an id.
    const at = recordKeyTime(recordKey);
    if (!matches({ ids: [recordKey], ageMs: at === undefined ? undefined : now.getTime() - at.getTime() }, filter)) return undefined;
    return { recordKey, summary: undefined, outcome: { kind: "unreadable", error: err.message } };
  }
  const objects = await inspectObjects(target, summary);
  const { event: _event, ...listed } = { ...summary, ...objects.learned };
  if (!matches({ ids: [recordKey, listed.requestId, ...(listed.id?.split(",") ?? [])], ageMs: listed.ageMs }, filter)) return undefined;
  if (!options.replay) return { recordKey, summary: listed, outcome: { kind: "listed", gone: objects.gone } };
  return { recordKey, summary: listed, outcome: await replay(target, summary, objects, options) };
}

function matches(record: { ids: readonly string[]; ageMs: number | undefined }, f: RecordFilter): boolean {
  if (f.ids !== undefined) {
    const ids = new Set(record.ids.flatMap((id) => [id, id.slice(id.lastIndexOf("/") + 1)]));
    if (!f.ids.some((id) => ids.has(id))) return false;
  }
  if (f.olderThanMs !== undefined && (record.ageMs === undefined || record.ageMs < f.olderThanMs)) return false;
  if (f.newerThanMs !== undefined && (record.ageMs === undefined || record.ageMs > f.newerThanMs)) return false;
  return true;
}

interface ObjectsState {
  /** `s3://…` of every payload object that is gone (for a commit: also its data object). */
  readonly gone: readonly string[];
  /** A call failed, so nothing is known for sure. */
  readonly error?: string;
  /** What commit objects say that the event does not: the payload id and its size. */
  readonly learned: Partial<Pick<FailureRecordSummary, "id" | "size">>;
}

/** Checks the event's payload objects; a multipart payload's commit names its id, size and data object. */
async function inspectObjects(target: RedriveTarget, summary: FailureRecordSummary): Promise<ObjectsState> {
  const gone: string[] = [];
  const ids: string[] = [];
  let size = 0;
  let sizeKnown = true;
  const head = async (bucket: string, key: string) => {
    try {
      return await target.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (isNoSuchKey(err)) {
        gone.push(`s3://${bucket}/${key}`);
        return undefined;
      }
      throw new Error(`cannot check s3://${bucket}/${key}: ${describeError(err)}`);
    }
  };
  try {
    for (const o of summary.objects) {
      const found = await head(o.bucket, o.key);
      const metadata = found?.Metadata ?? {};
      const dataKey = o.commit ? metadata[MULTIPART_METADATA.objectKey] : undefined;
      const id = metadata[OBJECT_METADATA.id];
      if (id !== undefined) ids.push(id);
      if (o.commit && metadata[OBJECT_METADATA.size] !== undefined) size += Number(metadata[OBJECT_METADATA.size]);
      else if (!o.commit && found?.ContentLength !== undefined) size += found.ContentLength;
      else sizeKnown = false;
      if (dataKey !== undefined) await head(o.bucket, dataKey);
    }
  } catch (err) {
    return { gone, error: (err as Error).message, learned: {} };
  }
  const learned = {
    ...(ids.length === summary.objects.length && ids.length > 0 && { id: ids.join(",") }),
    ...(sizeKnown && summary.objects.length > 0 && { size }),
  };
  return { gone, learned };
}

async function replay(target: RedriveTarget, summary: FailureRecordSummary, objects: ObjectsState, options: RedriveOptions): Promise<RecordOutcome> {
  if (objects.error !== undefined) return { kind: "replay-failed", error: objects.error };
  if (options.dryRun) return objects.gone.length > 0 ? { kind: "payload-gone", objects: objects.gone, checked: false } : { kind: "would-replay" };
  const delays = options.inProgressRetryDelaysMs ?? [1000, 2000, 4000, 8000, 15000];
  for (let attempt = 0; ; attempt++) {
    const answer = await invoke(target, summary);
    if (answer.kind === "failed") {
      // Another delivery of this payload is running (another redrive, or Lambda's own retry):
      // wait for it as Lambda would, then ask again; the store then says whether it succeeded.
      if (answer.errorType === "PayloadInProgressError" && attempt < delays.length) {
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
        continue;
      }
      const outcome: RecordOutcome =
        answer.errorType === "PayloadObjectMissingError"
          ? { kind: "payload-gone", objects: objects.gone.length > 0 ? objects.gone : [answer.error], checked: true }
          : { kind: "replay-failed", error: answer.error };
      return (await recordExists(target, summary.recordKey)) ? outcome : { kind: "removed-elsewhere" };
    }
    const result = answer.result;
    let outcome: RecordOutcome;
    if (result === undefined) {
      // A consumer that does not say what it did (older than this redrive): its success is
      // trusted only when every payload object is still there to be processed.
      if (objects.gone.length > 0) return { kind: "payload-gone", objects: objects.gone, checked: false };
      outcome = { kind: "replayed" };
    } else {
      outcome = result.processed.length === 0 && result.repeated.length > 0 ? { kind: "already-processed" } : { kind: "replayed" };
    }
    try {
      await target.s3.send(new DeleteObjectCommand({ Bucket: target.failureBucket, Key: summary.recordKey }));
    } catch (err) {
      return { kind: "replay-failed", error: `replayed, but the record could not be removed: ${describeError(err)}` };
    }
    return outcome;
  }
}

type Answer =
  | { readonly kind: "succeeded"; readonly result: { processed: string[]; repeated: string[] } | undefined }
  | { readonly kind: "failed"; readonly errorType: string | undefined; readonly error: string };

async function invoke(target: RedriveTarget, summary: FailureRecordSummary): Promise<Answer> {
  let out;
  try {
    out = await target.lambda.send(
      new InvokeCommand({ FunctionName: target.functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(summary.event)) }),
    );
  } catch (err) {
    return { kind: "failed", errorType: undefined, error: `invoking ${target.functionName} failed: ${describeError(err)}` };
  }
  const text = Buffer.from(out.Payload ?? new Uint8Array()).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (out.FunctionError !== undefined) {
    const e = (typeof body === "object" && body !== null ? body : {}) as { errorType?: string; errorMessage?: string };
    const detail = e.errorType !== undefined || e.errorMessage !== undefined ? `${e.errorType ?? "Error"}: ${e.errorMessage ?? ""}` : text;
    return { kind: "failed", errorType: e.errorType, error: `${target.functionName} failed again (${out.FunctionError}): ${detail}` };
  }
  return { kind: "succeeded", result: consumerResult(body) };
}

/** The consumer's `{ processed, repeated }` answer (lib/consumer.ts, ConsumerResult), if that is what it is. */
function consumerResult(body: unknown): { processed: string[]; repeated: string[] } | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { processed, repeated } = body as Record<string, unknown>;
  const ids = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  return ids(processed) && ids(repeated) ? { processed: processed as string[], repeated: repeated as string[] } : undefined;
}

async function recordExists(target: RedriveTarget, recordKey: string): Promise<boolean> {
  try {
    await target.s3.send(new HeadObjectCommand({ Bucket: target.failureBucket, Key: recordKey }));
    return true;
  } catch (err) {
    if (isNoSuchKey(err)) return false;
    return true; // unknown: say it is kept, which is what an operator must check
  }
}
