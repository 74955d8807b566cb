/**
 * Settles like `start()`, or rejects with `expired()` once `timeoutMs` pass first; `start()` keeps running and its
 * late outcome is ignored. One promise and one timer, no `Promise.race`: it sits on every store call's hot path.
 * `mapError` rewrites a failure of `start()` (a driver's vague error into one that says what happened).
 */
export function withDeadline<T>(
  start: () => Promise<T>,
  timeoutMs: number,
  expired: () => Error,
  mapError: (error: unknown) => unknown = (error) => error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (error: unknown) => {
      try {
        reject(mapError(error));
      } catch (mapped) {
        reject(mapped);
      }
    };
    const timer = setTimeout(() => reject(expired()), timeoutMs);
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (error) {
      clearTimeout(timer);
      fail(error);
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        fail(error);
      },
    );
  });
}
