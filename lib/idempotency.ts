/**
 * At most one successful `processPayload` per payload id, across concurrent and repeated
 * deliveries: Lambda async invokes and S3 notifications are both at-least-once, and the sender's
 * SDK retries an Event invoke after a 5xx that a real Lambda may already have queued.
 *
 * Built on Powertools for AWS Lambda's idempotency utility (`makeIdempotent` with its
 * `DynamoDBPersistenceLayer`) rather than a copy of it: its conditional put already handles the
 * races that matter (two deliveries at once, a lock left by a crash, an expired record), and its
 * record layout (`id`, `status`, `expiration`, `in_progress_expiration`, `validation`) is what
 * operators who know Powertools expect in the table. What this module adds is the payload
 * contract: the key is the payload id (not a hash of the event, because the inline and the S3
 * event of one payload differ), the sender's sha256 is the validation value, and Powertools'
 * errors become named errors that say what happened to the payload.
 *
 * Powertools and the DynamoDB client load on first use, so they stay out of the consumer's init.
 */
import { IDEMPOTENCY_RECORD as RECORD_ATTRIBUTES } from "./contract.ts";
import type { IdempotencySettings } from "./function-config.ts";
import { clientTimeoutConfig, type SdkTimeouts } from "./sdk-timeouts.ts";

/** The record's partition key value is `<KEY_PREFIX>#<md5 of the payload id>` (Powertools hashes keys). */
export const KEY_PREFIX = "payload";

export interface PayloadIdentity {
  readonly id: string;
  /** sha256 the sender recorded; the same id with another sha256 is a conflict. */
  readonly sha256: string;
}

/** What happened to one delivery. */
export type DeliveryOutcome =
  /** `work` ran and succeeded; the id is now COMPLETED. */
  | "processed"
  /** The id was COMPLETED before; `work` did not run. */
  | "repeated";

/** Another delivery of this id is processing right now; this one must be retried later. */
export class PayloadInProgressError extends Error {
  override readonly name = "PayloadInProgressError";
}

/** The id was seen before with a different sha256: two payloads claim one id. */
export class PayloadIdConflictError extends Error {
  override readonly name = "PayloadIdConflictError";
}

/** The idempotency table could not be read or written; the payload was not processed. */
export class IdempotencyStoreError extends Error {
  override readonly name = "IdempotencyStoreError";
}

/**
 * What the store says about a payload id: `COMPLETED` (processed, within the window),
 * `INPROGRESS` (a delivery holds the lock), `EXPIRED` (processed or locked before the window
 * ended; now it counts as new) or `ABSENT` (no record).
 */
export type PayloadStatus = "COMPLETED" | "INPROGRESS" | "EXPIRED" | "ABSENT";

export interface IdempotentProcessor {
  /**
   * Runs `work` unless this id already completed (then resolves "repeated"). While it runs, the
   * id is locked until `remainingTimeMs` from now (the invocation's remaining time), so a crash
   * leaves a lock that expires with the function timeout. If `work` throws, the lock is released
   * and the error rethrown, so a retry processes the payload.
   */
  run(payload: PayloadIdentity, remainingTimeMs: number, work: () => Promise<void>): Promise<DeliveryOutcome>;
  /**
   * Reads the id's record (consistently) without taking a lock: the store's word on whether the
   * payload was processed, for a delivery whose object is gone. Throws
   * {@link IdempotencyStoreError} when the table cannot be read.
   */
  status(id: string): Promise<PayloadStatus>;
}

export interface IdempotentProcessorOptions extends IdempotencySettings {
  readonly sdkTimeouts: SdkTimeouts;
  /** Extra DynamoDB client configuration, such as an endpoint in tests. @default none */
  readonly clientConfig?: Record<string, unknown>;
}

type Powertools = typeof import("@aws-lambda-powertools/idempotency");
type PersistenceLayer = InstanceType<typeof import("@aws-lambda-powertools/idempotency/dynamodb").DynamoDBPersistenceLayer>;

export function idempotentProcessor(options: IdempotentProcessorOptions): IdempotentProcessor {
  let loading: Promise<{ powertools: Powertools; store: PersistenceLayer; lookup: PersistenceLayer }> | undefined;
  const load = () =>
    (loading ??= Promise.all([import("@aws-lambda-powertools/idempotency"), import("@aws-lambda-powertools/idempotency/dynamodb")]).then(
      ([powertools, { DynamoDBPersistenceLayer }]) => {
        const layer = () =>
          new DynamoDBPersistenceLayer({
            tableName: options.tableName,
            keyAttr: RECORD_ATTRIBUTES.key,
            statusAttr: RECORD_ATTRIBUTES.status,
            expiryAttr: RECORD_ATTRIBUTES.expiry,
            inProgressExpiryAttr: RECORD_ATTRIBUTES.inProgressExpiry,
            validationKeyAttr: RECORD_ATTRIBUTES.validation,
            clientConfig: { ...clientTimeoutConfig(options.sdkTimeouts), ...options.clientConfig },
          });
        // Powertools' own read (getRecord: same key, consistent read, expiry applied), on a layer
        // of its own: a layer is configured once, and this one must not validate the sha256,
        // which a delivery whose object is gone may not know.
        const lookup = layer();
        lookup.configure({ config: new powertools.IdempotencyConfig({ eventKeyJmesPath: "id", throwOnNoIdempotencyKey: true }), keyPrefix: KEY_PREFIX });
        return { powertools, store: layer(), lookup };
      },
    ));

  return {
    async run(payload, remainingTimeMs, work) {
      const { powertools, store } = await load();
      // A config per call: Powertools reads the remaining time from the config's context, and
      // the property tests run deliveries with different deadlines side by side.
      const config = new powertools.IdempotencyConfig({
        eventKeyJmesPath: "id",
        payloadValidationJmesPath: "sha256",
        throwOnNoIdempotencyKey: true,
        expiresAfterSeconds: options.expiresAfterSeconds,
        lambdaContext: { getRemainingTimeInMillis: () => remainingTimeMs } as never,
      });
      let ran = false;
      let succeeded = false;
      const once = powertools.makeIdempotent(
        async (_identity: PayloadIdentity) => {
          ran = true;
          await work();
          succeeded = true;
        },
        { persistenceStore: store, config, keyPrefix: KEY_PREFIX },
      );
      try {
        await once({ id: payload.id, sha256: payload.sha256 });
      } catch (err) {
        throw translate(err, payload, succeeded);
      }
      return ran ? "processed" : "repeated";
    },

    async status(id) {
      const { lookup } = await load();
      try {
        return (await lookup.getRecord({ id })).getStatus();
      } catch (err) {
        if (err instanceof Error && err.name === "IdempotencyItemNotFoundError") return "ABSENT";
        throw new IdempotencyStoreError(`Could not read the idempotency record of payload ${id}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
      }
    },
  };
}

/** Errors are matched by name: `instanceof` fails when a bundle holds two copies of a package. */
function translate(err: unknown, payload: PayloadIdentity, succeeded: boolean): unknown {
  const name = err instanceof Error ? err.name : "";
  const cause = { cause: err };
  switch (name) {
    case "IdempotencyAlreadyInProgressError":
      return new PayloadInProgressError(
        `Payload ${payload.id} is being processed by another delivery right now; this delivery fails so that it is retried later`,
        cause,
      );
    case "IdempotencyValidationError":
      return new PayloadIdConflictError(
        `Payload ${payload.id} was seen before with a different sha256 (this delivery has ${payload.sha256}); refusing to treat a different payload as a repeat`,
        cause,
      );
    case "IdempotencyPersistenceLayerError":
    case "IdempotencyInconsistentStateError":
    case "IdempotencyKeyError":
    case "IdempotencyUnknownError": {
      const detail = err instanceof Error && err.cause instanceof Error ? `${err.message}: ${err.cause.name}: ${err.cause.message}` : String((err as Error).message);
      const state = succeeded ? "was processed but could not be marked completed (a retry may process it again)" : "was not processed";
      return new IdempotencyStoreError(`Payload ${payload.id} ${state}: ${detail}`, cause);
    }
    default:
      return err;
  }
}
