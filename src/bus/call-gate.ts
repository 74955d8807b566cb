import { closedError } from "../storage/kit/store-errors.js";

/**
 * The bus's door: refuses calls once closed (`ERR_CLOSED`, like every store) and counts the calls in flight, so
 * that `close()` can wait for them before it closes what they use.
 */
export class CallGate {
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private shut = false;

  get closed(): boolean {
    return this.shut;
  }

  /** Counts one call in; throws when closed. Pair with `leave()` in a `finally`. */
  enter(): void {
    if (this.shut) throw closedError("the event bus");
    this.inFlight++;
  }

  leave(): void {
    if (--this.inFlight === 0) this.drained?.();
  }

  /** Throws when closed (synchronously, like `tail` and `consume`). */
  check(): void {
    if (this.shut) throw closedError("the event bus");
  }

  async track<T>(operation: () => Promise<T>): Promise<T> {
    this.enter();
    try {
      return await operation();
    } finally {
      this.leave();
    }
  }

  /** Refuses new calls and resolves once those in flight ended; false when it was already closed. */
  async close(): Promise<boolean> {
    if (this.shut) return false;
    this.shut = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    return true;
  }
}
