/** Shortest gap between two cross-process wake-ups sent by one storage, in milliseconds. */
export const MIN_WAKE_GAP_MS = 1;

/**
 * Sends cross-process wake-ups (a `pg_notify`, a `PUBLISH`) for appends, coalesced: at most one in flight and at
 * most one per `gapMs`; an append while one is pending causes exactly one more, sent after it. So a burst of
 * appends costs a handful of notifications, and the last append is always followed by one. Failures are ignored:
 * a wake-up is a hint, and the readers' safety poll covers a lost one.
 */
export class WakeSender {
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private again = false;
  private lastSent = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly send: () => Promise<unknown>,
    private readonly gapMs = MIN_WAKE_GAP_MS,
  ) {}

  /** An append has been stored. */
  appended(): void {
    if (this.stopped) return;
    if (this.inFlight !== undefined || this.timer !== undefined) {
      this.again = true;
      return;
    }
    const wait = this.lastSent + this.gapMs - performance.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fire();
      }, wait);
      return;
    }
    this.fire();
  }

  /** Stops sending and waits for the one in flight (so that its client can be closed after). */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private fire(): void {
    if (this.stopped) return;
    this.again = false;
    this.lastSent = performance.now();
    this.inFlight = this.send().then(
      () => this.settled(),
      () => this.settled(),
    );
  }

  private settled(): void {
    this.inFlight = undefined;
    if (this.again) {
      this.again = false;
      this.appended();
    }
  }
}
