import { ClosedError, EventBusError, StorageError } from "../../errors/error-classes.js";

/**
 * The one rule that turns a store failure into an error for the caller: the library's own errors (validation, gaps,
 * conflicts, a closed store) pass through; anything else, a driver's error, becomes a `StorageError` naming the
 * store and the operation.
 */
export function storageFailure(storage: string, operation: string, error: unknown): EventBusError {
  return EventBusError.is(error) ? error : new StorageError(storage, operation, error);
}

/** Runs one store operation under {@link storageFailure}. */
export async function callStore<T>(storage: string, operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storageFailure(storage, operation, error);
  }
}

/** {@link callStore} for a synchronous driver (SQLite). */
export function callStoreSync<T>(storage: string, operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw storageFailure(storage, operation, error);
  }
}

/** What every call on a closed store rejects with: an `EventBusError` whose `code` is `"ERR_CLOSED"`. */
export function closedError(what: string): ClosedError {
  return new ClosedError(`${what} is closed; open a new one to read or write again`);
}
