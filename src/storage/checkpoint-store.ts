import type { NormalizedEventQuery } from "./types.js";

/**
 * The query a consumer reads with, as the checkpoint store records it for retention: `listEvents` filters without
 * cursors or limit.
 *
 * @example
 * ```ts
 * const query: ConsumerQuery = { event_types: ["deal.created"] };
 * ```
 */
export type ConsumerQuery = Omit<NormalizedEventQuery, "limit" | "after" | "before">;

/**
 * One consumer as its checkpoint store knows it (see `CheckpointStore.listConsumers`).
 *
 * @example
 * ```ts
 * for (const consumer of (await storage.checkpoints?.listConsumers?.()) ?? []) console.log(consumer.name, consumer.last_seen);
 * ```
 */
export interface ConsumerRecord {
  readonly name: string;
  /** The checkpoint (`event_id` of the last handled event), or `null`. */
  readonly position: string | null;
  /** The query given with its last lease, or `null` when none was (then it matches every event). */
  readonly query: ConsumerQuery | null;
  /** When it last took or renewed its lease or wrote its checkpoint (ISO-8601 UTC), or `null` if never recorded. */
  readonly last_seen: string | null;
}

/**
 * The lease a consumer instance holds on a name: who holds it and the generation it was granted under. Every
 * checkpoint write carries it, so a store can refuse a write from a holder whose lease was taken over.
 *
 * @example
 * ```ts
 * const lease: ConsumerLease | null = await checkpoints.acquireLease("warehouse-export", instanceId, 10_000);
 * if (lease) console.log(`active, generation ${lease.generation}`);
 * ```
 */
export interface ConsumerLease {
  /** The consumer name. */
  readonly name: string;
  /** The instance that holds it (a random id per `consume()` call). */
  readonly owner: string;
  /** Increases by one each time a different acquisition takes the name over; never reused. */
  readonly generation: number;
}

/**
 * One event that a consumer gave up on (`onFailure: "skip"`), kept with the checkpoint.
 *
 * @example
 * ```ts
 * for (const letter of await consumer.deadLetters()) console.log(letter.event_id, letter.error, letter.failed_at);
 * ```
 */
export interface DeadLetter {
  /** The event the handler failed on. */
  readonly event_id: string;
  /** The last error's text. */
  readonly error: string;
  /** When it was dead-lettered, ISO-8601 UTC. */
  readonly failed_at: string;
}

/**
 * A fenced compare-and-set of a checkpoint: move `position` from `expected` to `position`, and record
 * `deadLetters` in the same write.
 *
 * @example
 * ```ts
 * const write: CheckpointWrite = { expected: null, position: lastId, deadLetters: [{ event_id, error: "bad" }] };
 * ```
 */
export interface CheckpointWrite {
  /** The position the writer last read or wrote (`null`: no checkpoint yet). */
  readonly expected: string | null;
  /** The new position: the `event_id` of the last event handled. */
  readonly position: string;
  /** Events given up on in this step, stored atomically with the new position. */
  readonly deadLetters?: readonly { readonly event_id: string; readonly error: string }[] | undefined;
}

/**
 * Optional capability of a store: named checkpoints, leases and dead letters for `bus.consume()`, kept beside
 * the events (a table, keys, a map). Implemented by every built-in adapter; covered by the conformance suite.
 *
 * Rules:
 * - Lease expiry is judged by the store's clock where it has one (PostgreSQL `now()`, Redis `TIME`; SQLite and
 *   memory use the process clock), so that instances on skewed machines agree on it.
 * - `acquireLease` grants the name when nobody holds it, when the holder's lease has expired, or when `owner`
 *   already holds it (extending it). A new holder gets the previous generation plus one.
 * - `renewLease`, `releaseLease` and `writeCheckpoint` act only while `lease.owner` and `lease.generation` are
 *   still the name's current ones (fencing): after a takeover the old holder is refused.
 * - `writeCheckpoint` also requires the stored position to equal `write.expected` (compare-and-set).
 *
 * @example
 * ```ts
 * const lease = await checkpoints.acquireLease("crm-sync", owner, 10_000);
 * if (lease && (await checkpoints.writeCheckpoint(lease, { expected: null, position: id }))) console.log("saved");
 * ```
 */
export interface CheckpointStore {
  /**
   * Takes (or extends) the lease for `leaseMs`; `null` while another owner holds an unexpired lease. When granted,
   * records `query` (when given) and the time as the consumer's last-seen time, in the same step.
   */
  acquireLease(name: string, owner: string, leaseMs: number, query?: ConsumerQuery): Promise<ConsumerLease | null>;
  /** Extends the lease by `leaseMs` from now and records the time as last seen; `false` when it was taken over. */
  renewLease(lease: ConsumerLease, leaseMs: number): Promise<boolean>;
  /** Gives the lease up at once so that a standby can take over; does nothing after a takeover. */
  releaseLease(lease: ConsumerLease): Promise<void>;
  /** The name's position (the last handled `event_id`), or `null` when it has none. */
  readCheckpoint(name: string): Promise<string | null>;
  /** The fenced compare-and-set (recording the time as last seen); `false` when refused (stale lease or moved position). */
  writeCheckpoint(lease: ConsumerLease, write: CheckpointWrite): Promise<boolean>;
  /** The name's dead letters, oldest first. */
  deadLetters(name: string): Promise<DeadLetter[]>;
  /**
   * Every consumer name with its position, query and last-seen time, for retention (`prune` keeps what they have
   * not handled). A store without it cannot hold retention back: `prune` then needs `consumers: "ignore"`.
   */
  listConsumers?(): Promise<ConsumerRecord[]>;
}
