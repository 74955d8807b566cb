/**
 * Where a consumer is: `active` (holds the lease and handles events), `standby` (another instance holds it, or
 * the store is unreachable), `stopped` (by `stop()`, its signal or `bus.close()`) or `failed` (a batch or a
 * checkpoint write failed every attempt with `onFailure: "stop"`; see `last_error`).
 *
 * @example
 * ```ts
 * const state: ConsumerState = consumer.status().state;
 * ```
 */
export type ConsumerState = "active" | "standby" | "stopped" | "failed";

/**
 * A consumer's last known state, returned synchronously by `status()`.
 *
 * @example
 * ```ts
 * const { state, position, lag, last_error } = consumer.status();
 * if (state === "failed") alert(`export stuck at ${position}: ${last_error}`);
 * ```
 */
export interface ConsumerStatus {
  readonly name: string;
  readonly state: ConsumerState;
  /** The `event_id` of the last event handled (the checkpoint), `null` before any. */
  readonly position: string | null;
  /**
   * Matching events not yet handled, as of the last read (each batch and each poll). Counted within the read-ahead
   * window of `max(batchSize, 1000)` events: a larger backlog reads as the window size.
   */
  readonly lag: number;
  /** The text of the most recent error (handler, store or checkpoint write), `null` when there was none. */
  readonly last_error: string | null;
  /** The ranges retention deleted before this consumer handled them (`onGap: "oldest"`), oldest first. */
  readonly gaps: readonly ConsumerGap[];
}

/**
 * Events a consumer never handled because retention deleted them first: everything after `after` and before
 * `resumed_at` (both exclusive) that matched its query.
 *
 * @example
 * ```ts
 * for (const gap of consumer.status().gaps) log.warn(`lost events after ${gap.after} (found ${gap.detected_at})`);
 * ```
 */
export interface ConsumerGap {
  /** The pruned position the consumer was at. */
  readonly after: string;
  /** The oldest retained event it went on from (`null`: the store held none). */
  readonly resumed_at: string | null;
  /** When the gap was found, ISO-8601 UTC. */
  readonly detected_at: string;
}
