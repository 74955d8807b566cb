/** First retry delay after a failed store read, in milliseconds. */
export const RETRY_BASE_MS = 100;
/** Longest delay between retries, however long the outage lasts. */
export const RETRY_CAP_MS = 5000;

/**
 * Capped exponential backoff with jitter: attempt 0 waits about `base`, each further attempt doubles it up to `cap`.
 * The jitter (50-100 % of the step) keeps many processes that lost the same store from retrying in lockstep.
 */
export function backoffDelay(attempt: number, base = RETRY_BASE_MS, cap = RETRY_CAP_MS): number {
  const step = Math.min(cap, base * 2 ** Math.min(attempt, 20));
  return Math.round(step * (0.5 + Math.random() / 2));
}

/**
 * Resolves after `ms`, or at once when `signal` aborts first; the timer and the listener are always removed, so a
 * tail that ends during a backoff leaves nothing behind.
 */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
