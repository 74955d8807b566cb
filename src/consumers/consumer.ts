import { EventBusError, EventGapError, EventValidationError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { backoffDelay, pause } from "../live/backoff.js";
import { oldestMatches } from "../live/oldest-match.js";
import type { CheckpointStore, DeadLetter, EventStorage } from "../storage/types.js";
import { type AttemptFailure, callHandler, errorText } from "./consumer-attempts.js";
import { CheckpointPipeline, type PendingDeadLetter } from "./consumer-checkpoints.js";
import { LeaseKeeper } from "./consumer-lease.js";
import type { ConsumerSettings } from "./consumer-options.js";
import { ConsumerReader, newestMatch } from "./consumer-reader.js";
import type { ConsumerGap, ConsumerState, ConsumerStatus } from "./consumer-status.js";
import { type ConsumerWakeup, createConsumerWakeup, SAFETY_POLL_MS } from "./consumer-wakeup.js";

/** Gaps kept in `status()`: the most recent ones. */
const MAX_GAPS = 100;

/**
 * The reason `halt` aborts with. One shared value: `abort()` without a reason builds a `DOMException` with a stack,
 * a cost every consumer run would pay at its stop, and nothing reads this reason.
 */
const HALTED = new Error("the consumer was stopped");

/** What a consumer needs from its bus. */
export interface ConsumerHost {
  readonly storage: EventStorage;
  /** The bus's in-process notifications: calls `listener` after each local append. */
  subscribe(listener: () => void): () => void;
  /** Called once the consumer has stopped, so the bus forgets it. */
  forget(consumer: Consumer): void;
  /** Where failures go besides `last_error`: the consumer's `onError`, else the bus's. */
  report(error: unknown, event?: Event): void;
}

/**
 * A named, durable consumer started by `bus.consume()`: at-least-once delivery from a checkpoint kept in the
 * store, one active instance per name (a lease), retries with backoff, and dead letters.
 *
 * @example
 * ```ts
 * const consumer = bus.consume("warehouse-export", async (events) => warehouse.insert(events));
 * console.log(consumer.status()); // { name: "warehouse-export", state: "active", position: null, lag: 0, ... }
 * await consumer.stop();
 * ```
 */
export class Consumer {
  /** The consumer's name (its checkpoint and lease key). */
  readonly name: string;
  /** Resolves once the consumer has stopped running: stopped, or failed (never rejects). */
  readonly stopped: Promise<void>;
  private state: ConsumerState = "standby";
  private position: string | null = null;
  private committed: string | null = null;
  private lag = 0;
  private lastError: string | null = null;
  private gaps: readonly ConsumerGap[] = Object.freeze([]);
  private readonly halt = new AbortController();
  private readonly checkpoints: CheckpointStore;
  private readonly keeper: LeaseKeeper;
  /** The checkpoint writes of the current tenure. */
  private pipeline: CheckpointPipeline | undefined;
  /** Where a new name was set to start (saved as its checkpoint, but not a handled event). */
  private savedStart: string | null = null;

  /** @internal Use `bus.consume()`. */
  constructor(
    private readonly settings: ConsumerSettings,
    private readonly host: ConsumerHost,
  ) {
    const checkpoints = host.storage.checkpoints;
    if (checkpoints === undefined) {
      throw new EventBusError(
        `the ${host.storage.name} storage has no checkpoints capability, which consume() needs; ` +
          "use memoryStorage, sqliteStorage, postgresStorage or redisStorage, or implement CheckpointStore",
      );
    }
    this.name = settings.name;
    this.checkpoints = checkpoints;
    this.keeper = new LeaseKeeper(
      checkpoints,
      settings.name,
      crypto.randomUUID(),
      settings.leaseMs,
      (error) => this.record(error),
      settings.query,
    );
    settings.signal?.addEventListener("abort", () => this.halt.abort(HALTED), { once: true });
    if (settings.signal?.aborted) this.halt.abort(HALTED);
    this.stopped = this.run();
  }

  /**
   * The last known state, synchronously.
   *
   * @example
   * ```ts
   * setInterval(() => metrics.gauge("export.lag", consumer.status().lag), 10_000);
   * ```
   */
  status(): ConsumerStatus {
    const { name, state, position, lag } = this;
    return Object.freeze({ name, state, position, lag, last_error: this.lastError, gaps: this.gaps });
  }

  /**
   * The events this consumer's name gave up on (`onFailure: "skip"`), oldest first, from the store.
   *
   * @example
   * ```ts
   * for (const { event_id, error } of await consumer.deadLetters()) console.warn(event_id, error);
   * ```
   */
  deadLetters(): Promise<DeadLetter[]> {
    return this.checkpoints.deadLetters(this.name);
  }

  /**
   * Stops after the handler call in flight (if any) and its checkpoint, releases the lease, and resolves once
   * stopped.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => void consumer.stop());
   * ```
   */
  stop(): Promise<void> {
    this.halt.abort(HALTED);
    return this.stopped;
  }

  private async run(): Promise<void> {
    const wakeup = createConsumerWakeup(this.host.storage, (listener) => this.host.subscribe(listener));
    const standbyPollMs = Math.max(50, Math.floor(this.settings.leaseMs / 10));
    try {
      while (!this.halt.signal.aborted && this.state !== "failed") {
        if (await this.tryAcquire()) await this.serve(wakeup);
        else await pause(standbyPollMs, this.halt.signal);
      }
    } finally {
      await this.keeper.release().catch((error: unknown) => this.record(error));
      await wakeup.close();
      if (this.state !== "failed") this.state = "stopped";
      this.host.forget(this);
    }
  }

  private async tryAcquire(): Promise<boolean> {
    try {
      if (await this.keeper.acquire()) return true;
    } catch (error) {
      this.record(error);
    }
    this.state = "standby";
    return false;
  }

  /** One tenure: from taking the lease until it is lost, the consumer stops, or it fails. */
  private async serve(wakeup: ConsumerWakeup): Promise<void> {
    const tenure = this.keeper.signal;
    // Combined only once something waits on it: AbortSignal.any costs more than a whole batch on the memory store.
    let combined: AbortSignal | undefined;
    const either = () => (combined ??= AbortSignal.any([this.halt.signal, tenure]));
    let reader: ConsumerReader;
    try {
      reader = await this.openReader();
    } catch (error) {
      if (error instanceof EventValidationError) return this.fail(errorText(error));
      await this.pauseAfter(error, either());
      return this.dropLease();
    }
    const pipeline = this.openPipeline();
    this.state = "active";
    if (await this.saveStart(pipeline)) await this.work(reader, pipeline, wakeup, either);
    await pipeline.flush(); // stopping, failed or the lease lost: refused by the store after a takeover
    pipeline.close();
    if (this.state === "active" && !this.halt.signal.aborted) this.state = "standby";
  }

  /** The tenure's loop: read, handle, note the checkpoint; `serve` flushes after it. */
  private async work(
    reader: ConsumerReader,
    pipeline: CheckpointPipeline,
    wakeup: ConsumerWakeup,
    either: () => AbortSignal,
  ): Promise<void> {
    const tenure = this.keeper.signal;
    let failures = 0;
    while (!this.halt.signal.aborted && this.keeper.valid && (this.state as ConsumerState) !== "failed") {
      try {
        await reader.fill(this.settings.batchSize);
        failures = 0;
        this.state = "active";
      } catch (error) {
        if (error instanceof EventValidationError)
          return this.fail(`cannot read after ${this.committed}: ${errorText(error)}`);
        if (error instanceof EventGapError) {
          if (await this.onGap(error, reader)) continue;
          return;
        }
        // Not active while the store does not answer: the consumer is not handling anything.
        this.state = "standby";
        await this.pauseAfter(error, either(), ++failures);
        continue;
      }
      this.lag = reader.lag; // every event read and not yet handled, this batch's included
      const batch = reader.take(this.settings.batchSize);
      reader.readAhead();
      if (batch.length === 0) {
        // Caught up: the checkpoint is written before waiting, so an idle consumer's position is durable.
        if (!(await pipeline.flush())) return;
        await wakeup.wait(SAFETY_POLL_MS, either());
        continue;
      }
      // The last batch's checkpoint, written while this one was read, is durable before this one is handled: a crash
      // hands again at most the batch in flight. The batch goes back unhandled when the lease cannot cover it.
      if (!(await pipeline.flush()) || !(await this.keeper.holdsForAnotherBatch())) return;
      if (!(await this.handle(batch, tenure))) return;
    }
  }

  /**
   * A new name's start goes into the store before its first batch when it is `"end"`, which a restart would place
   * elsewhere; an `event_id` start rides with the first batch's checkpoint (a restart before it starts there again).
   */
  private async saveStart(pipeline: CheckpointPipeline): Promise<boolean> {
    if (this.savedStart === null) return true;
    const atEnd = this.settings.from === "end";
    pipeline.note(this.savedStart, [], !atEnd);
    return !atEnd || (await pipeline.flush());
  }

  private openPipeline(): CheckpointPipeline {
    const lease = this.keeper.lease;
    if (lease === null) throw new EventBusError("a consumer tenure began without its lease");
    const retry = this.settings;
    this.pipeline = new CheckpointPipeline(this.checkpoints, this.keeper, lease, this.committed, retry, {
      durable: (position) => {
        this.committed = position;
        // The saved start of a new name (from "end" or an id) is a checkpoint, not a handled event.
        if (position !== this.savedStart) this.position = position;
      },
      error: (error) => this.record(error),
      refused: (text) => this.record(text),
      failed: (text) => this.fail(text),
    });
    return this.pipeline;
  }

  /** Reads the checkpoint, or settles where a new name starts (and saves that, so a restart starts there too). */
  private async openReader(): Promise<ConsumerReader> {
    const { storage } = this.host;
    const { query, batchSize, from } = this.settings;
    const window = Math.max(batchSize, 1_000);
    const stored = await this.checkpoints.readCheckpoint(this.name);
    this.committed = stored;
    this.position = stored;
    this.savedStart = null;
    if (stored !== null || from === "start") return new ConsumerReader(storage, query, window, stored);
    const start = from === "end" ? await newestMatch(storage, query) : from;
    if (from !== "end" && (await storage.get(from)) === null) {
      throw EventValidationError.forField("from", `no stored event has event_id ${from}`);
    }
    // Saved by the tenure's first checkpoint write, which starts at once.
    this.savedStart = start;
    return new ConsumerReader(storage, query, window, start);
  }

  /** Handles one batch with retries; on final failure isolates the poison event(s). False: stop this tenure. */
  private async handle(batch: readonly Event[], tenure: AbortSignal): Promise<boolean> {
    const failure = await this.attempt(batch, tenure);
    if (failure === undefined) return this.handled((batch.at(-1) as Event).event_id, [], batch.length);
    if (this.halt.signal.aborted) return false;
    if (tenure.aborted || batch.length === 1) return this.giveUp(batch[0] as Event, failure, tenure);
    // Retried one by one so that only the event(s) that keep failing are dead-lettered (or stopped at).
    for (const event of batch) {
      const single = await this.attempt([event], tenure);
      const handled = single === undefined ? this.handled(event.event_id, [], 1) : this.giveUp(event, single, tenure);
      if (!handled) return false;
    }
    return true;
  }

  /** Every try of one batch; `undefined` when one succeeded, the last failure otherwise. */
  private async attempt(events: readonly Event[], tenure: AbortSignal): Promise<AttemptFailure> {
    const { handler, attempts, initialDelayMs, maxDelayMs, handlerTimeoutMs } = this.settings;
    let failure: AttemptFailure;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (tenure.aborted) return failure ?? { error: tenure.reason };
      failure = await callHandler(handler, events, attempt, handlerTimeoutMs, tenure);
      if (failure === undefined) return undefined;
      this.record(failure.error, events.length === 1 ? events[0] : undefined);
      if (attempt < attempts)
        await pause(backoffDelay(attempt - 1, initialDelayMs, maxDelayMs), AbortSignal.any([tenure, this.halt.signal]));
      if (this.halt.signal.aborted) return failure;
    }
    return failure;
  }

  private giveUp(event: Event, failure: NonNullable<AttemptFailure>, tenure: AbortSignal): boolean {
    if (tenure.aborted || this.halt.signal.aborted) return false;
    const text = errorText(failure.error);
    if (this.settings.onFailure === "skip")
      return this.handled(event.event_id, [{ event_id: event.event_id, error: text }], 1);
    this.fail(`the handler failed on event ${event.event_id} after ${this.settings.attempts} attempt(s): ${text}`);
    return false;
  }

  /**
   * Every event up to `position` was handled (or dead-lettered): hands the checkpoint to the tenure's pipeline,
   * which starts its write while the next batch is read. False: stop this tenure (a write was refused or failed).
   */
  private handled(position: string, deadLetters: readonly PendingDeadLetter[], handled: number): boolean {
    const pipeline = this.pipeline as CheckpointPipeline;
    this.lag = Math.max(0, this.lag - handled);
    pipeline.note(position, deadLetters);
    return pipeline.healthy;
  }

  /**
   * Retention deleted events after the checkpoint before they were handled. `"fail"`: state `failed` with the gap
   * as `last_error` and the retained backlog as `lag`. `"oldest"`: record the range and read on from the oldest
   * retained match. True: go on serving.
   */
  private async onGap(gap: EventGapError, reader: ConsumerReader): Promise<boolean> {
    const { storage } = this.host;
    const { query } = this.settings;
    if (this.settings.onGap === "fail") {
      this.lag = await oldestMatches(storage, query, 1_000).then(
        (events) => events.length,
        () => this.lag,
      );
      this.fail(errorText(gap));
      return false;
    }
    const [oldest] = await oldestMatches(storage, query, 1).catch(() => []);
    const record = { after: gap.eventId, resumed_at: oldest?.event_id ?? null, detected_at: new Date().toISOString() };
    this.gaps = Object.freeze([...this.gaps, Object.freeze(record)].slice(-MAX_GAPS));
    this.record(gap);
    reader.restartAtOldest();
    return true;
  }

  private fail(reason: string): void {
    this.lastError = reason;
    this.state = "failed";
    this.host.report(new EventBusError(`consumer ${this.name} failed: ${reason}`));
  }

  private record(error: unknown, event?: Event): void {
    this.lastError = errorText(error);
    // What fails while stopping on purpose (a handler cut short, the lease release) is kept, not reported.
    if (!this.halt.signal.aborted) this.host.report(error, event);
  }

  private async pauseAfter(error: unknown, signal: AbortSignal, failures = 1): Promise<void> {
    this.record(error);
    const { initialDelayMs, maxDelayMs } = this.settings;
    await pause(backoffDelay(failures - 1, Math.max(initialDelayMs, 100), Math.max(maxDelayMs, 1_000)), signal);
  }

  private async dropLease(): Promise<void> {
    await this.keeper.release().catch((error: unknown) => this.record(error));
    if (this.state === "active") this.state = "standby";
  }
}
