import type { EventStorage, StorageWatch } from "../storage/types.js";

/**
 * When a consumer with nothing to read should look again. Reads always go by cursor, so these are latency aids:
 * the store's `watch` (other processes' appends, where the adapter has it), the bus's own in-process
 * notifications, and a safety poll that bounds the delay when both miss something.
 *
 * Kept in one small file on purpose: the live-delivery reader (`bus.tail()`) has the same needs, and the two can
 * share one wake-up source per bus.
 */
export interface ConsumerWakeup {
  /** Resolves at the next wake-up (at once if one came since the last wait), after `pollMs`, or when `signal` aborts. */
  wait(pollMs: number, signal: AbortSignal): Promise<void>;
  /** Stops listening and releases the store's watch. */
  close(): Promise<void>;
}

/** The poll interval of an idle consumer: how late, at worst, it sees an append no wake-up announced. */
export const SAFETY_POLL_MS = 500;

/** Starts listening for appends through `storage.watch` and `subscribe` (the bus's `subscribe("*")`). */
export function createConsumerWakeup(
  storage: EventStorage,
  subscribe: (listener: () => void) => () => void,
): ConsumerWakeup {
  let pending = false;
  let resolveWait: (() => void) | undefined;
  const wake = () => {
    pending = true;
    resolveWait?.();
  };
  const unsubscribe = subscribe(wake);
  let stopWatch: StorageWatch | undefined;
  try {
    stopWatch = storage.watch?.(wake);
  } catch {
    stopWatch = undefined; // a watch is only a hint: without it the safety poll carries the consumer
  }

  return {
    wait(pollMs, signal) {
      if (pending || signal.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolveWait = undefined;
          pending = false;
          resolve();
        };
        const timer = setTimeout(done, pollMs);
        signal.addEventListener("abort", done, { once: true });
        resolveWait = done;
      });
    },
    async close() {
      unsubscribe();
      resolveWait?.();
      await stopWatch?.().catch(() => undefined);
    },
  };
}
