import type { CallDeadline } from "./postgres-deadline.js";

/** One run of a read, and the callers waiting on it. */
interface SharedRun<T> {
  readonly result: Promise<T>;
  /** The run's own deadline: it passes once every waiting caller's has (what makes a read give up its connection). */
  readonly deadline: CallDeadline;
  waiting: number;
}

/** The run of a key now in flight, and the one that starts after it, if any caller is waiting for that. */
interface Slot<T> {
  readonly settled: Promise<unknown>;
  next: SharedRun<T> | undefined;
}

/**
 * Identical reads share statements, without ever answering from the past: a read with no identical one in flight
 * runs at once; one that arrives while an identical read is in flight waits for it to finish and then shares the
 * next run with every other read that arrived meanwhile. Each caller's answer thus comes from a statement sent after
 * the caller arrived, exactly what it would have read on its own a moment later (its own writes, and everything
 * committed before it asked, included), while N identical reads in a burst cost two statements instead of N (the
 * driver's round trip is most of a read's CPU; see docs/decisions.md).
 *
 * @example
 * ```ts
 * const reads = new SharedReads<string[]>();
 * const page = await reads.run(key, deadline, (shared) => listEventJson(context, query, shared));
 * ```
 */
export class SharedReads<T> {
  private readonly slots = new Map<string, Slot<T>>();

  /**
   * Runs `work` for `key` or shares a run of it (see the class); the caller's `deadline` counts towards the shared
   * run's, whose `onExpire` the caller's takes over. Each caller gets its own copy of an array result.
   */
  run(key: string, deadline: CallDeadline, work: (deadline: CallDeadline) => Promise<T>): Promise<T> {
    const slot = this.slots.get(key);
    let run: SharedRun<T>;
    if (slot === undefined) {
      run = this.launch(key, newDeadline(), work);
    } else {
      slot.next ??= this.following(key, slot, work);
      run = slot.next;
    }
    run.waiting += 1;
    deadline.onExpire = () => {
      run.waiting -= 1;
      if (run.waiting > 0 || run.deadline.expired) return;
      run.deadline.expired = true;
      run.deadline.onExpire?.();
    };
    if (run.waiting === 1) return run.result;
    return run.result.then((value) => (Array.isArray(value) ? (value.slice() as T) : value));
  }

  /** Starts `work` now as the key's run in flight. */
  private launch(key: string, deadline: CallDeadline, work: (deadline: CallDeadline) => Promise<T>): SharedRun<T> {
    const result = work(deadline);
    const slot: Slot<T> = { settled: result.then(ignore, ignore), next: undefined };
    this.slots.set(key, slot);
    void slot.settled.then(() => {
      // Attached before any follower's start, so it runs first: the key stays taken when a follower starts next.
      if (this.slots.get(key) === slot && slot.next === undefined) this.slots.delete(key);
    });
    return { result, deadline, waiting: 0 };
  }

  /** The run that starts once `slot`'s settles, for the callers that arrive until then. */
  private following(key: string, slot: Slot<T>, work: (deadline: CallDeadline) => Promise<T>): SharedRun<T> {
    const deadline = newDeadline();
    const result = slot.settled.then(() => this.launch(key, deadline, work).result);
    return { result, deadline, waiting: 0 };
  }
}

function newDeadline(): CallDeadline {
  return { expired: false, onExpire: undefined };
}

function ignore(): void {}
