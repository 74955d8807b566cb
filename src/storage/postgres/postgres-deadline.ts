import type { Pool, PoolClient } from "pg";
import { withDeadline as settleWithin } from "../kit/deadline.js";

/**
 * Default deadline of every PostgreSQL store call, in milliseconds (like Redis's `timeoutMs`).
 *
 * @example
 * ```ts
 * postgresStorage({ pool, timeoutMs: DEFAULT_POSTGRES_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_POSTGRES_TIMEOUT_MS = 5000;

/**
 * PostgreSQL did not answer within the deadline: the `cause` of the `StorageError` a store call rejects with. The
 * connection that was waiting has been discarded (closed), never handed back to the pool.
 *
 * @example
 * ```ts
 * if (error instanceof StorageError && error.cause instanceof PostgresTimeoutError) retryLater(error.cause.timeoutMs);
 * ```
 */
export class PostgresTimeoutError extends Error {
  override name = "PostgresTimeoutError";
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, what: string) {
    super(`no answer from PostgreSQL ${what} within ${timeoutMs} ms (timeoutMs)`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Settles like `work`, or rejects with a {@link PostgresTimeoutError} once `timeoutMs` pass first (then calls
 * `onTimeout`, which discards whatever was waiting): the storage kit's deadline, with PostgreSQL's error.
 */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string, onTimeout?: () => void): Promise<T> {
  return settleWithin(
    () => work,
    timeoutMs,
    () => {
      onTimeout?.();
      return new PostgresTimeoutError(timeoutMs, what);
    },
  );
}

/**
 * The caller's pool with every round trip bounded: `query` and `connect` answer within `timeoutMs` or reject with
 * {@link PostgresTimeoutError}, and a connection whose query timed out is released with an error, which makes `pg`
 * close it instead of returning it to the pool (its protocol state is unknown: the answer may still arrive). Every
 * other member is the pool's own, so the adapter's code uses this exactly like the pool.
 */
export function boundedPool(pool: Pool, timeoutMs: number): Pool {
  const connect = () => connectBounded(pool, timeoutMs);
  const query = async (...args: unknown[]) => {
    const client = await connect();
    try {
      const result = await (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
      client.release();
      return result;
    } catch (error) {
      // As pg's own pool.query does: a connection that failed a query is not reused.
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  };
  return new Proxy(pool, {
    get(target, key) {
      if (key === "connect") return connect;
      if (key === "query") return query;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Checks a client out within the deadline; one that arrives too late goes straight back to the pool. */
async function connectBounded(pool: Pool, timeoutMs: number): Promise<PoolClient> {
  const pending = pool.connect();
  const client = await withDeadline(pending, timeoutMs, "with a connection", () => {
    pending.then(
      (late) => late.release(),
      () => {},
    );
  });
  return boundedClient(client, timeoutMs);
}

/**
 * A checked-out client whose every query is bounded. On a timeout the client is released with the timeout error
 * (pg ends it, destroying the socket of a query still in flight); later queries on it reject at once and a later
 * `release` does nothing, so the code that holds it (a transaction's ROLLBACK, say) fails fast instead of hanging.
 */
function boundedClient(client: PoolClient, timeoutMs: number): PoolClient {
  let discarded: Error | undefined;
  let released = false;
  // A socket error between queries would otherwise be an unhandled 'error' event on a checked-out client.
  const onError = () => {};
  client.on("error", onError);
  const release = (error?: Error | boolean) => {
    if (released) return;
    released = true;
    client.removeListener("error", onError);
    client.release(error);
  };
  const query = (...args: unknown[]) => {
    if (discarded !== undefined) return Promise.reject(discarded);
    const running = (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
    return withDeadline(running, timeoutMs, "to a query", () => {
      discarded = new PostgresTimeoutError(timeoutMs, "to a query");
      release(discarded);
    });
  };
  return new Proxy(client, {
    get(target, key) {
      if (key === "query") return query;
      if (key === "release") return release;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
