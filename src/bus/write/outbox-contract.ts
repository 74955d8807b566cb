import { EventConflictError, StorageError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import type { EventType } from "../../event/event-type.js";
import { callStore } from "../../storage/kit/store-errors.js";
import type { EventStorage } from "../../storage/types.js";
import { differingFields } from "./idempotency.js";

/**
 * What `bus.outboxStatus()` reports, for health checks: how many events wait in the outbox, the timestamp of the one
 * at its head (waiting longest), and the last replay or write failure (`null` once the outbox is empty again).
 *
 * @example
 * ```ts
 * const status: OutboxStatus = bus.outboxStatus();
 * if (status.pending > 0) console.warn(`${status.pending} audit events wait for the store: ${status.last_error}`);
 * ```
 */
export interface OutboxStatus {
  /** Events written to the outbox and not yet confirmed by the store. */
  readonly pending: number;
  /** `timestamp` of the first pending event in file order, or `null` when none is pending. */
  readonly oldest_timestamp: string | null;
  /** Message of the last failure (a store still down, a write that failed), or `null`. */
  readonly last_error: string | null;
}

/**
 * What replaying one event into the store came to: `"stored"` (now stored, subscribers notified), `"duplicate"`
 * (the store already held the identical event: it reached the store before the failure was seen; subscribers are
 * notified, as they were not when it went to the outbox), or the conflict
 * (another event holds that id; the outbox reports it and does not retry it).
 *
 * @example
 * ```ts
 * const outcome: ReplayOutcome = "duplicate";
 * ```
 */
export type ReplayOutcome = "stored" | "duplicate" | EventConflictError;

/**
 * What the bus gives its outbox to replay with: appends through the bus's storage and its idempotency rule, and
 * notifies subscribers of the events that are newly stored.
 *
 * @example
 * ```ts
 * const outcomes = await sink.replay(events); // throws StorageError while the store is down
 * ```
 */
export interface OutboxSink {
  /** Appends `events` in one `append` call (all or nothing); one outcome per event, in order. */
  replay(events: readonly Event[]): Promise<readonly ReplayOutcome[]>;
}

/**
 * The contract between `EventBus` and an outbox (such as `fileOutbox` from `ad-seller-events/outbox`). The core
 * knows outboxes only through it, so it stays free of `node:fs`.
 *
 * When an `append` fails with a `StorageError` and every event of the call has a type in `types`, the bus hands
 * the stamped, validated events to `write` as one unit and resolves the emit once `write` resolves.
 *
 * @example
 * ```ts
 * const bus = new EventBus({ storage, outbox: fileOutbox({ path: "data/event-outbox.jsonl" }) });
 * ```
 */
export interface EventOutbox {
  /** Event types that go to the outbox when the store fails, or `"all"`. */
  readonly types: readonly EventType[] | "all";
  /** Where the outbox keeps its events, for error messages (e.g. the file path). */
  readonly location: string;
  /** Durably records `events` (one unit, in order) that the store refused with `failure`; rejects when that fails. */
  write(events: readonly Event[], failure: StorageError): Promise<void>;
  /** Called once by the bus that owns the outbox: from now on replay into `sink`. */
  attach(sink: OutboxSink): void;
  /** The outbox's state; synchronous. */
  status(): OutboxStatus;
  /** Stops replay between steps, leaves what is pending where it is, releases what the outbox holds. */
  close(): Promise<void>;
}

/** Whether a failed `append` of `events` goes to the outbox: all of the batch, or none of it. */
export function outboxTakes(outbox: EventOutbox, events: readonly Event[]): boolean {
  const { types } = outbox;
  return types === "all" || events.every((event) => types.includes(event.event_type));
}

/**
 * Writes a batch whose `append` failed into the outbox; when that fails too, throws a `StorageError` that names both
 * failures (its cause is an `AggregateError` holding both).
 */
export async function writeToOutbox(outbox: EventOutbox, events: readonly Event[], failure: StorageError) {
  try {
    await outbox.write(events, failure);
  } catch (outboxError) {
    const reason = outboxError instanceof Error ? outboxError.message : String(outboxError);
    const both = new AggregateError(
      [failure, outboxError],
      `${failure.message}; and the outbox ${outbox.location} failed too: ${reason}`,
    );
    throw new StorageError(failure.storage, failure.operation, both);
  }
}

/**
 * The outbox side of the bus: replays into `storage` with the bus's rule for ids that are already taken, and calls
 * `answered` after each append the store took (which closes the bus's circuit breaker).
 */
export function storageSink(
  storage: EventStorage,
  deliver: (event: Event) => void,
  answered: () => void = () => {},
): OutboxSink {
  return {
    async replay(events) {
      const outcomes = await callStore(storage.name, "append", () => storage.append(events));
      answered();
      return events.map((event, index) => {
        const stored = outcomes[index] ?? null;
        if (stored === null) {
          deliver(event);
          return "stored";
        }
        // The timestamp is not compared: the outbox line holds the bus's stamp, and the emit it stands for (a
        // caller's id without a timestamp) would have accepted any stored time.
        const differing = differingFields(stored, event, false);
        if (differing.length > 0) return new EventConflictError(event.event_id, differing);
        // The failed append had committed after all: nobody was notified of it, so subscribers hear of it now.
        deliver(stored);
        return "duplicate";
      });
    },
  };
}
