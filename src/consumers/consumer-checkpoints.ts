import { backoffDelay, pause } from "../live/backoff.js";
import type { CheckpointStore, ConsumerLease } from "../storage/types.js";
import { errorText } from "./consumer-attempts.js";
import type { LeaseKeeper } from "./consumer-lease.js";

/** A dead letter on its way to the store, written with the checkpoint that moves past it. */
export interface PendingDeadLetter {
  readonly event_id: string;
  readonly error: string;
}

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
 * The checkpoint writes of one tenure, overlapped with the consumer's next read: the consumer notes a handled batch
 * and the write starts at once, while the reader fetches what comes next; before it hands the next batch to its
 * handler the consumer waits for that write (`flush`). So a crash hands again at most the batch in flight (DESIGN 14),
 * and the write costs a batch only what it takes beyond the read. A position is noted only once its handler has
 * completed, so a checkpoint never passes an unhandled event; the store fences every write with the tenure's lease
 * and refuses it after a takeover (the consumer then drops to standby).
 */
export class CheckpointPipeline {
  private durablePosition: string | null;
  private newest: string | null;
  private letters: PendingDeadLetter[] = [];
  private writing: Promise<boolean> | undefined;
  private broken = false;
  private closed = false;

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
   * Records that every event up to `position` was handled and starts its write. `later`: leave the write to the next
   * note or flush (where a new name starts, written with its first batch).
   */
  note(position: string, letters: readonly PendingDeadLetter[], later = false): void {
    this.newest = position;
    for (const letter of letters) this.letters.push(letter);
    if (!later) this.start();
  }

  /**
   * Writes everything noted so far; true once the store holds it, false when a write was refused or failed.
   * Synchronous when nothing is pending (the usual case on the memory store, once per batch).
   */
  flush(): boolean | Promise<boolean> {
    return this.pending ? this.drain() : !this.broken;
  }

  private get pending(): boolean {
    return !this.broken && !this.closed && (this.writing !== undefined || this.newest !== this.durablePosition);
  }

  private async drain(): Promise<boolean> {
    while (this.pending) {
      this.start();
      await this.writing;
    }
    return !this.broken;
  }

  /** Ends the tenure's writing: after the final flush nothing more starts, even a write noted in the meantime. */
  close(): void {
    this.closed = true;
  }

  private start(): void {
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
    this.writing = this.write(position, letters).then((written) => {
      this.writing = undefined;
      if (written) {
        this.durablePosition = position;
        this.events.durable(position);
      } else this.broken = true;
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
        if (await this.checkpoints.writeCheckpoint(this.lease, { expected, position, deadLetters })) return true;
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
