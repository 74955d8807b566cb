import type { Event } from "../event/event.js";
import type { EventType } from "../event/event-type.js";
import type { CheckpointStore } from "./checkpoint-store.js";

// The durable-consumer capability has a file of its own; its types are named from here as from the rest of the contract.
export type {
  CheckpointStore,
  CheckpointWrite,
  ConsumerLease,
  ConsumerQuery,
  ConsumerRecord,
  DeadLetter,
} from "./checkpoint-store.js";

/**
 * A validated `listEvents` query as storage receives it: filters are ANDed, empty filters are absent, the time
 * bounds are canonical timestamps, at most one cursor is set and `limit` is a positive integer.
 *
 * @example
 * ```ts
 * const query: NormalizedEventQuery = { session_id: "s-1", event_types: ["negotiation.round"], limit: 10 };
 * ```
 */
export interface NormalizedEventQuery {
  readonly flow_id?: string;
  readonly flow_type?: string;
  readonly proposal_id?: string;
  readonly deal_id?: string;
  readonly session_id?: string;
  /** Match any of these types (deduplicated, never empty). */
  readonly event_types?: readonly EventType[];
  /** Inclusive lower bound on `timestamp`. */
  readonly since?: string;
  /** Exclusive upper bound on `timestamp`. */
  readonly until?: string;
  /** Return the first `limit` matches appended after this event (tailing). */
  readonly after?: string;
  /** Return the newest `limit` matches appended before this event (paging back). */
  readonly before?: string;
  /** How many events at most. With no cursor the newest `limit` matches are returned. */
  readonly limit: number;
}

/**
 * What `append` reports for each event it was given, in the same order: `null` when the event is now stored, or
 * the event already stored under that `event_id` (which the store keeps unchanged).
 *
 * @example
 * ```ts
 * const [outcome] = await storage.append([event]);
 * if (outcome !== null) console.log("already stored at", outcome.timestamp);
 * ```
 */
export type AppendOutcome = Event | null;

/**
 * What `EventStorage.appendInTransaction` reports: the outcomes (as `append`'s, inside the caller's transaction),
 * and whether that transaction committed.
 *
 * @example
 * ```ts
 * const { outcomes, committed } = await storage.appendInTransaction?.([event], client) ?? refuse();
 * if (await committed) console.log("readable now", outcomes);
 * ```
 */
export interface TransactionalAppend {
  readonly outcomes: readonly AppendOutcome[];
  /**
   * Resolves `true` once the caller's transaction has committed and the new events are readable, `false` once it
   * rolled back (or the store closed first). Never rejects.
   */
  readonly committed: Promise<boolean>;
}

/**
 * The contract every storage adapter implements. Adapters are factory functions (`memoryStorage()`,
 * `sqliteStorage({ database })`, ...) and are checked by `describeStorageConformance` from
 * `ad-seller-events/testing`.
 *
 * Rules:
 * - `append` stores each event with all of its index entries atomically, in a total, stable append order. An id
 *   that is already taken is not an error for the adapter: it reports the stored event and the bus applies the
 *   conflict rules. On failure it throws and none of the batch is visible.
 * - `list` returns events oldest to newest within the window the query asks for, reading O(limit) index entries
 *   for any single filter; an unknown cursor id throws `EventValidationError`.
 * - Everything returned is a deeply frozen `Event`.
 * - `close` releases what the adapter created; it never closes a client it was given unless told to.
 *
 * @example
 * ```ts
 * const storage: EventStorage = memoryStorage();
 * const bus = new EventBus({ storage });
 * ```
 */
export interface EventStorage {
  /** Short name used in errors, e.g. `"postgres"`. */
  readonly name: string;
  /** Appends a batch; see the contract above for duplicates. */
  append(events: readonly Event[]): Promise<readonly AppendOutcome[]>;
  /**
   * Optional capability: appends a batch inside the caller's open transaction (`transaction` is the store's own
   * handle: a `pg` client inside `BEGIN`, a SQLite database inside a transaction), so that the events exist only if
   * it commits. Stores without transactions leave it out and the bus refuses the `transaction` option.
   */
  appendInTransaction?(events: readonly Event[], transaction: unknown): Promise<TransactionalAppend>;
  /** The event with this id, or `null`. */
  get(eventId: string): Promise<Event | null>;
  /** The events matching a validated query, oldest to newest. */
  list(query: NormalizedEventQuery): Promise<Event[]>;
  /** Releases resources the adapter owns. */
  close(): Promise<void>;
  /**
   * Optional live-delivery capability: calls `onAppend` soon after events may have been appended to this store by
   * any process sharing it. A hint only: readers always read by cursor, so a missed or extra call costs latency,
   * never correctness. Without it, tailing polls. Returns a function that stops watching and releases what the
   * watch holds (a listening connection, a timer).
   */
  watch?(onAppend: () => void): StorageWatch;
  /** Optional durable-consumer capability: checkpoints, leases and dead letters (see {@link CheckpointStore}). */
  readonly checkpoints?: CheckpointStore | undefined;
  /** Optional webhook capability: subscriptions and their delivery log (see {@link WebhookStore}). */
  readonly webhooks?: WebhookStore | undefined;
  /**
   * Optional fast path for serving: the JSON text of each event `list` would return, in the same order, exactly
   * `JSON.stringify` of the frozen `Event` `list` would return (byte for byte). The HTTP routes use it when present,
   * so that a stored event goes to the wire without being parsed, frozen and serialised again. Code callers still
   * get frozen `Event`s from `list`.
   */
  listJson?(query: NormalizedEventQuery): Promise<string[]>;
  /** Optional: the JSON text of the event `get` would return (byte for byte `JSON.stringify` of it), or `null`. */
  getJson?(eventId: string): Promise<string | null>;
  /**
   * Optional retention: deletes events stored before `before` (a timestamp, exclusive) whose type is in `types`
   * (default: every type but `AUDIT_EVENT_TYPES`), in bounded batches so that appends wait at most one batch.
   * Resolves with how many events were deleted. A cursor that names a deleted event answers `EventGapError` from
   * then on. See {@link PruneOptions}.
   */
  prune?(options: PruneOptions): Promise<number>;
  /** Optional audit-trail capability: append-only records beside the events (see {@link DigestStore}). */
  readonly digests?: DigestStore | undefined;
}

/**
 * What `EventStorage.prune` deletes: events older than `before` of the given types.
 *
 * @example
 * ```ts
 * const options: PruneOptions = { before: new Date(Date.now() - 90 * 86_400_000).toISOString() };
 * const deleted = await storage.prune?.(options);
 * ```
 */
export interface PruneOptions {
  /** Delete only events whose `timestamp` is before this instant (exclusive); ISO-8601 string or `Date`. */
  readonly before: string | Date;
  /** Types to delete. Default: every type not in `AUDIT_EVENT_TYPES`, so the audit trail is kept. */
  readonly types?: readonly EventType[] | undefined;
  /** Most events one batch deletes (each batch is its own short transaction). Default `1000`. */
  readonly batchSize?: number | undefined;
  /** Called after each batch with how many events were deleted so far (for progress logs). */
  readonly onBatch?: ((deletedSoFar: number) => void) | undefined;
  /**
   * `"hold"` (default): never delete an event that a live durable consumer whose query matches it has not handled
   * yet (stamped at or after its checkpoint event). `"ignore"`: delete by `before` and `types` alone.
   */
  readonly consumers?: "hold" | "ignore" | undefined;
  /** A consumer whose lease was last taken, renewed or checkpointed longer ago than this holds nothing. Default 7 days. */
  readonly staleConsumerMs?: number | undefined;
  /** The instant consumers' staleness is judged at (ISO-8601 string or `Date`). Default: now. For replays and tests. */
  readonly now?: string | Date | undefined;
  /** Count what would go, delete nothing (and record nothing in the audit trail). Default `false`. */
  readonly dryRun?: boolean | undefined;
  /** Called once, before any deletion, with the consumers that hold events back (not called when none does). */
  readonly onHold?: ((holds: readonly PruneHold[]) => void) | undefined;
}

/**
 * A durable consumer that holds retention back: events of `types` stamped at or after `from` are kept for it.
 *
 * @example
 * ```ts
 * await storage.prune?.({ before, onHold: (holds) => holds.forEach((hold) => log.warn(`${hold.name} holds ${hold.from}`)) });
 * ```
 */
export interface PruneHold {
  /** The consumer name. */
  readonly name: string;
  /** Its checkpoint (`event_id` of the last event handled), `null` before its first batch. */
  readonly position: string | null;
  /** Events of `types` stamped at or after this instant are kept; `null`: every event of `types` is kept. */
  readonly from: string | null;
  /** The types of this prune its query matches. */
  readonly types: readonly EventType[];
  /** When it last took or renewed its lease or wrote its checkpoint (ISO-8601 UTC). */
  readonly last_seen: string;
}

/**
 * What `EventStorage.watch` returns: stops the wake-ups and releases their resources.
 *
 * @example
 * ```ts
 * const stop: StorageWatch = storage.watch?.(() => reader.wake()) ?? (async () => {});
 * await stop();
 * ```
 */
export type StorageWatch = () => Promise<void>;

/**
 * One entry of a webhook delivery log as a store keeps it: the indexed fields beside the entry's JSON text (which
 * `ad-seller-events/webhooks` writes and reads; the store does not look inside).
 *
 * @example
 * ```ts
 * await webhooks.appendDelivery({ subscription_id: "s-1", event_id, ok: true, at, json: "{...}" }, 1000);
 * ```
 */
export interface WebhookLogRecord {
  readonly subscription_id: string;
  /** The event delivered, `null` for an entry about the subscription itself (auto-disabled). */
  readonly event_id: string | null;
  /** Whether the attempt succeeded. */
  readonly ok: boolean;
  /** When, ISO-8601 UTC (sortable as text). */
  readonly at: string;
  readonly json: string;
}

/**
 * Which log entries `listDeliveries` returns: one subscription's, newest first, optionally narrowed.
 *
 * @example
 * ```ts
 * const query: WebhookLogQuery = { subscription_id: "s-1", ok: false, limit: 50 };
 * ```
 */
export interface WebhookLogQuery {
  readonly subscription_id: string;
  readonly event_id?: string | undefined;
  readonly ok?: boolean | undefined;
  /** Entries at or after this time (inclusive, ISO-8601 UTC). */
  readonly since?: string | undefined;
  /** Entries before this time (exclusive, ISO-8601 UTC). */
  readonly until?: string | undefined;
  readonly limit: number;
}

/**
 * Optional capability of a store: webhook subscriptions (JSON text by id) and their delivery log, kept beside the
 * events so that every dispatcher of a fleet sees the same subscriptions. Covered by the conformance suite.
 *
 * Rules:
 * - `saveSubscription` inserts or replaces; `listSubscriptions` returns every one, ordered by id.
 * - `appendDelivery` keeps at most `keep` entries per subscription (the newest); `listDeliveries` returns the
 *   newest first. `deleteSubscription` also deletes its log.
 *
 * @example
 * ```ts
 * await webhooks.saveSubscription("s-1", JSON.stringify(subscription));
 * const [first] = await webhooks.listSubscriptions();
 * ```
 */
export interface WebhookStore {
  saveSubscription(id: string, json: string): Promise<void>;
  readSubscription(id: string): Promise<string | null>;
  listSubscriptions(): Promise<{ readonly id: string; readonly json: string }[]>;
  /** True when it existed. */
  deleteSubscription(id: string): Promise<boolean>;
  appendDelivery(record: WebhookLogRecord, keep: number): Promise<void>;
  listDeliveries(query: WebhookLogQuery): Promise<WebhookLogRecord[]>;
}

/**
 * One record of a {@link DigestStore} log: an integer key, unique within its log, and a text value.
 *
 * @example
 * ```ts
 * const record: DigestRecord = { key: 1, value: '{"sequence":1}' };
 * ```
 */
export interface DigestRecord {
  /** A non-negative safe integer; records are read back in ascending key order. */
  readonly key: number;
  /** The stored text, returned byte for byte. */
  readonly value: string;
}

/**
 * Optional capability of a store: named, append-only logs of keyed text records kept beside the events (a table, a
 * hash, a map). The audit trail (`ad-seller-events/audit`) keeps its per-event seal entries, its signed digests and
 * the prune records there. Implemented by every built-in adapter; covered by the conformance suite (`digests`).
 *
 * Rules:
 * - `append` stores every record of the batch, or none when any of their keys is already taken in that log
 *   (resolving `false`): two writers that race for the same keys cannot both win.
 * - `range` returns the records whose key is greater than `afterKey`, ascending, at most `limit`.
 * - Nothing here is trusted by the verifier: it checks what it reads against signatures and hashes.
 *
 * @example
 * ```ts
 * if (await storage.digests?.append("trail:audit:digests", [{ key: 1, value: digestJson }])) console.log("sealed");
 * const newest = await storage.digests?.last("trail:audit:digests");
 * ```
 */
export interface DigestStore {
  /** Stores all of `records` (distinct keys) in `log`, or nothing and `false` when a key is taken. */
  append(log: string, records: readonly DigestRecord[]): Promise<boolean>;
  /** Up to `limit` records of `log` with a key above `afterKey`, ascending. */
  range(log: string, afterKey: number, limit: number): Promise<DigestRecord[]>;
  /** The record of `log` with the largest key, or `null` when the log is empty. */
  last(log: string): Promise<DigestRecord | null>;
}
