import { backoffDelay, pause } from "../live/backoff.js";
import type { CheckpointStore, ConsumerLease } from "../storage/types.js";
import { errorText } from "./consumer-attempts.js";
import type { LeaseKeeper } from "./consumer-lease.js";

/** A dead letter on its way to the store, written with the checkpoint that moves past it. */
export interface PendingDeadLetter {
  readonly event_id: string;
  readonly error: string;
}

/** The most time between two checkpoint writes while a consumer handles events. */
export const MAX_CHECKPOINT_GAP_MS = 1_000;
/** Handled events a consumer may hold without a durable checkpoint before it waits for one. */
export const MAX_UNCHECKPOINTED = 10_000;
/** Checkpoint writes that hold the thread may take about 1 / (1 + GAP_FACTOR) of a busy consumer's time. */
const GAP_FACTOR = 19;

/** What the pipeline tells its consumer. */
export interface CheckpointEvents {
  /** The store accepted the checkpoint at `position`. */
  durable(position: string): void;
  /** A write failed and will be tried again. */
  error(error: unknown): void;
  /** The store refused a write: another instance holds the lease now. */
  refused(text: string): void;
  /** Every attempt of a write failed. */
  failed(text: string): void;
}

/**
 * The checkpoint writes of one tenure, off the consumer's critical path: the consumer notes each handled batch and
 * goes on with the next while the write runs. One write at a time; each covers every batch noted before it started
 * (so writes coalesce while one is in flight or waiting its turn), and a position is noted only once its handler
 * has completed, so a checkpoint never passes an unhandled event. The store fences every write with the tenure's
 * lease: after a takeover it refuses it, and the consumer drops to standby.
 *
 * Pacing: a write whose call held this thread for `d` ms (a synchronous driver's fsync: SQLite) is followed by the
 * next one `19 d` ms later at the earliest (at most a second), so such a store spends about a twentieth of its
 * time on checkpoints instead of one fsync per batch, unless the batch just handled took longer than `d` (a slow
 * handler: one write per batch costs little next to it). A store that answers over the network holds the thread
 * for next to nothing, so its next write starts as soon as the last one is done. `flush()` writes at once (caught up,
 * stopping), and a consumer that reaches `MAX_UNCHECKPOINTED` handled events waits for a write before handling more.
 */
export class CheckpointPipeline {
  private durablePosition: string | null;
  private newest: string | null;
  private letters: PendingDeadLetter[] = [];
  /** Handled events not covered by an accepted write (the one in flight included). */
  private unwritten = 0;
  private writing: Promise<boolean> | undefined;
  private nextWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private broken = false;
  private closed = false;
  /** How long the last write's call held this thread (the whole fsync on SQLite, next to nothing elsewhere). */
  private blockedMs = 0;
  /** When the last note or write ended: the time since is what the batch being noted took to read and handle. */
  private lastMark = 0;

  constructor(
    private readonly checkpoints: CheckpointStore,
    private readonly keeper: LeaseKeeper,
    private readonly lease: ConsumerLease,
    durable: string | null,
    private readonly retry: { attempts: number; initialDelayMs: number; maxDelayMs: number },
    private readonly events: CheckpointEvents,
  ) {
    this.durablePosition = durable;
    this.newest = durable;
  }

  /** The position the store accepted last. */
  get durable(): string | null {
    return this.durablePosition;
  }

  /** False once a write was refused or failed every attempt: nothing more is written in this tenure. */
  get healthy(): boolean {
    return !this.broken;
  }

  /**
   * Records that every event up to `position` was handled (`handled` of them in this step), then paces a write.
   * `later`: leave the write to the next note or flush (where a new name starts, written with its first batch).
   */
  note(position: string, letters: readonly PendingDeadLetter[], handled: number, later = false): void {
    this.newest = position;
    for (const letter of letters) this.letters.push(letter);
    this.unwritten += handled;
    const now = performance.now();
    // A batch that took longer than the last write held the thread: the write is cheap next to it, send it now.
    const slow = now - this.lastMark >= this.blockedMs;
    this.lastMark = now;
    if (this.writing !== undefined || later) return;
    const wait = this.nextWriteAt - now;
    if (slow || wait <= 0 || this.unwritten >= MAX_UNCHECKPOINTED) this.start();
    else this.timer ??= setTimeout(() => this.start(), wait);
  }

  /** Resolves once another batch may be handled: at once unless too many handled events await a checkpoint. */
  async room(): Promise<boolean> {
    while (!this.broken && !this.closed && this.unwritten >= MAX_UNCHECKPOINTED) {
      this.start();
      await this.writing;
    }
    return !this.broken;
  }

  /** Writes everything noted so far; true once the store holds it, false when a write was refused or failed. */
  async flush(): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (!this.broken && !this.closed && (this.writing !== undefined || this.newest !== this.durablePosition)) {
      this.start();
      await this.writing;
    }
    return !this.broken;
  }

  /** Ends the tenure's writing: after the final flush nothing more starts, even a write noted in the meantime. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const position = this.newest;
    if (
      this.writing !== undefined ||
      this.broken ||
      this.closed ||
      position === null ||
      position === this.durablePosition
    )
      return;
    const letters = this.letters;
    this.letters = [];
    const covered = this.unwritten;
    this.blockedMs = 0;
    this.writing = this.write(position, letters).then((written) => {
      this.lastMark = performance.now();
      this.nextWriteAt = this.lastMark + Math.min(GAP_FACTOR * this.blockedMs, MAX_CHECKPOINT_GAP_MS);
      this.writing = undefined;
      if (written) {
        this.durablePosition = position;
        this.unwritten -= covered;
        this.events.durable(position);
      } else this.broken = true;
      // Batches noted while this write ran get their own, paced like any other.
      if (written && this.newest !== position) this.note(this.newest as string, [], 0);
      return written;
    });
  }

  /** The fenced compare-and-set, retried with the handler's policy; false: refused, lease lost, or failed. */
  private async write(position: string, deadLetters: PendingDeadLetter[]): Promise<boolean> {
    const { attempts, initialDelayMs, maxDelayMs } = this.retry;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // Sent even when the keeper's clock says the lease ran out: the store is the judge. It accepts the write while
      // no one took the name over (the handler did complete) and refuses it after a takeover (fencing).
      try {
        const expected = this.durablePosition;
        const called = performance.now();
        const written = this.checkpoints.writeCheckpoint(this.lease, { expected, position, deadLetters });
        this.blockedMs += performance.now() - called;
        if (await written) return true;
        const text = `the store refused the checkpoint write of lease generation ${this.lease.generation}: another instance took the lease over`;
        this.events.refused(text);
        this.keeper.lose(new Error(text));
        return false;
      } catch (error) {
        last = error;
        this.events.error(error);
        if (attempt < attempts) await pause(backoffDelay(attempt - 1, initialDelayMs, maxDelayMs), this.keeper.signal);
      }
    }
    this.events.failed(`the checkpoint write to ${position} failed ${attempts} time(s): ${errorText(last)}`);
    return false;
  }
}
