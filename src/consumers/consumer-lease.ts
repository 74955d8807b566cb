import type { CheckpointStore, ConsumerLease, ConsumerQuery } from "../storage/types.js";

/**
 * Holds one instance's lease on a consumer name: takes it, renews it every third of `leaseMs`, and declares it
 * lost when the store refuses a renewal or when no renewal succeeded in time.
 *
 * Validity is judged on this process's monotonic clock, conservatively: a lease granted by a request sent at
 * local time `t` is trusted until `t + leaseMs`, because the store started its own `leaseMs` no earlier than it
 * received that request. No wall clocks are compared, so skew between machines does not matter.
 */
export class LeaseKeeper {
  private current: ConsumerLease | null = null;
  private validUntil = 0;
  /** When the next renewal is due (local monotonic time). */
  private renewAt = 0;
  private renewing: Promise<void> | undefined;
  private tenure = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly checkpoints: CheckpointStore,
    private readonly name: string,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly onError: (error: unknown) => void,
    /** Recorded by the store with the lease, so that retention keeps what this consumer has not handled. */
    private readonly query?: ConsumerQuery,
  ) {}

  /** The lease while it is held. */
  get lease(): ConsumerLease | null {
    return this.current;
  }

  /** Aborted when the lease of the current tenure is lost or released. */
  get signal(): AbortSignal {
    return this.tenure.signal;
  }

  /** True while the lease is held and its local validity has not run out. */
  get valid(): boolean {
    if (this.current === null) return false;
    if (performance.now() < this.validUntil) return true;
    this.lose(new Error(`the lease on consumer "${this.name}" ran out before it could be renewed`));
    return false;
  }

  /** Tries to take the lease; true when this instance holds it now. */
  async acquire(): Promise<boolean> {
    const sent = performance.now();
    const lease = await this.checkpoints.acquireLease(this.name, this.owner, this.leaseMs, this.query);
    if (lease === null) return false;
    this.current = lease;
    this.validUntil = sent + this.leaseMs;
    this.tenure = new AbortController();
    this.scheduleRenewal();
    return true;
  }

  /**
   * True while the lease is held with at least a third of `leaseMs` of local validity left, renewing first when a
   * renewal is overdue. Called before each handler call: a loop of store calls that answer synchronously (SQLite)
   * never yields to the renewal timer, and a handler started on a lease about to expire would still be running when
   * a standby takes over.
   */
  holdsForAnotherBatch(): boolean | Promise<boolean> {
    if (this.current === null) return false;
    // Answered synchronously while no renewal is due: this runs once per batch.
    if (this.renewing === undefined && performance.now() < this.renewAt) return this.hasMargin();
    return this.renewThenCheck();
  }

  private async renewThenCheck(): Promise<boolean> {
    if (this.renewing !== undefined) await this.renewing;
    else {
      clearTimeout(this.timer);
      await this.renewOnce();
    }
    return this.hasMargin();
  }

  private hasMargin(): boolean {
    return this.valid && performance.now() < this.validUntil - this.leaseMs / 3;
  }

  /** Marks the lease lost (a refused checkpoint write says so too): stops renewing, aborts the tenure. */
  lose(reason: Error): void {
    if (this.current === null) return;
    this.current = null;
    clearTimeout(this.timer);
    this.tenure.abort(reason);
  }

  /** Gives the lease up in the store so that a standby can take over at once. */
  async release(): Promise<void> {
    const lease = this.current;
    this.lose(new Error(`consumer "${this.name}" released its lease`));
    if (lease !== null) await this.checkpoints.releaseLease(lease);
  }

  private scheduleRenewal(): void {
    clearTimeout(this.timer);
    const delay = Math.max(1, Math.floor(this.leaseMs / 3));
    this.renewAt = performance.now() + delay;
    this.timer = setTimeout(() => void this.renewOnce(), delay);
  }

  /** One renewal at a time, whether the timer or the consumer loop asks for it. */
  private renewOnce(): Promise<void> {
    this.renewing ??= this.renew().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renew(): Promise<void> {
    const lease = this.current;
    if (lease === null) return;
    const sent = performance.now();
    try {
      const renewed = await this.checkpoints.renewLease(lease, this.leaseMs);
      if (this.current !== lease) return;
      if (!renewed) {
        this.lose(new Error(`consumer "${this.name}" lost its lease: another instance took over`));
        return;
      }
      this.validUntil = sent + this.leaseMs;
    } catch (error) {
      if (this.current !== lease) return;
      this.onError(error);
      if (performance.now() >= this.validUntil) {
        this.lose(new Error(`the lease on consumer "${this.name}" ran out while renewals failed`, { cause: error }));
        return;
      }
    }
    this.scheduleRenewal();
  }
}
