import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from "pg";

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
 * Settles like `work`, or rejects with a {@link PostgresTimeoutError} once `timeoutMs` pass first (after
 * `onTimeout`, which discards whatever was waiting, has settled: it may stop server work first). `work` keeps
 * running; its outcome is ignored.
 */
export function withDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  what: string,
  onTimeout?: () => void | Promise<void>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      const failure = new PostgresTimeoutError(timeoutMs, what);
      Promise.resolve()
        .then(onTimeout)
        .then(
          () => reject(failure),
          () => reject(failure),
        );
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // Past the deadline, the failure the caller hears is the deadline (once `onTimeout` has run), not what
        // stopping the work caused. Work that still succeeds meanwhile is reported as done: it is.
        if (!expired) reject(error);
      },
    );
  });
}

/**
 * The deadline of one store call, as the work it bounds sees it: whether it has passed, and what to discard then.
 * The call's own timer (the gate's) sets `expired` and runs `onExpire` once.
 */
export interface CallDeadline {
  expired: boolean;
  onExpire: (() => void) | undefined;
}

/**
 * One query on a connection of the caller's pool, bounded by the store call's deadline rather than by timers of its
 * own (a read is one round trip: one timer per call instead of three). When `deadline` passes first, a connection
 * still being waited for goes back to the pool as it arrives, and one whose query is in flight is released with the
 * timeout error, which makes pg close it: never reused with an answer still on its way. For reads only: an append
 * needs the bounded pool, which also stops its backend.
 */
export async function queryWithin<Row extends QueryResultRow>(
  pool: Pool,
  config: QueryConfig,
  deadline: CallDeadline,
  timeoutMs: number,
): Promise<QueryResult<Row>> {
  const client = await pool.connect();
  let released = false;
  const release = (error?: Error) => {
    if (released) return;
    released = true;
    client.removeListener("error", release);
    client.release(error);
  };
  // As pg's own pool.query: a socket error while the query runs must not be an unhandled 'error' event.
  client.on("error", release);
  if (deadline.expired) {
    release();
    throw new PostgresTimeoutError(timeoutMs, "with a connection");
  }
  deadline.onExpire = () => release(new PostgresTimeoutError(timeoutMs, "to a query"));
  try {
    const result = await client.query<Row>(config);
    release();
    return result;
  } catch (error) {
    release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** The bounded pool: the caller's pool plus a way to stop the server work of its queries in flight. */
export interface BoundedPool extends Pool {
  /**
   * Terminates the backends of the adapter's queries in flight and waits (up to a second) for them to exit, so that
   * a write whose caller is told it failed cannot commit afterwards (a backend waiting on a lock would not notice
   * its client leaving until the lock came free).
   */
  stopBusy(): Promise<void>;
}

/**
 * The caller's pool with every round trip bounded: `query` and `connect` answer within `timeoutMs` or reject with
 * {@link PostgresTimeoutError}, and a connection whose query timed out is released with an error, which makes `pg`
 * close it instead of returning it to the pool (its protocol state is unknown: the answer may still arrive). Every
 * other member is the pool's own, so the adapter's code uses this exactly like the pool.
 */
export function boundedPool(pool: Pool, timeoutMs: number): BoundedPool {
  const work: WorkInFlight = { busy: new Set(), stops: 0 };
  const connect = () => connectBounded(pool, timeoutMs, work);
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
  const stopBusy = () => {
    work.stops += 1; // queries checked out before this and not yet sent are never sent
    return stopBackends(pool, [...work.busy]);
  };
  return new Proxy(pool as BoundedPool, {
    get(target, key) {
      if (key === "connect") return connect;
      if (key === "query") return query;
      if (key === "stopBusy") return stopBusy;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The backends running the adapter's queries, and how many times they were stopped at a deadline. */
interface WorkInFlight {
  readonly busy: Set<number>;
  stops: number;
}

/** Checks a client out within the deadline; one that arrives too late goes straight back to the pool. */
async function connectBounded(pool: Pool, timeoutMs: number, work: WorkInFlight): Promise<PoolClient> {
  const stopsBefore = work.stops;
  const pending = pool.connect();
  const client = await withDeadline(pending, timeoutMs, "with a connection", () => {
    pending.then(
      (late) => late.release(),
      () => {},
    );
  });
  return boundedClient(client, timeoutMs, work, stopsBefore);
}

/**
 * A checked-out client whose every query is bounded. On a timeout the client is released with the timeout error
 * (pg ends it, destroying the socket of a query still in flight); later queries on it reject at once and a later
 * `release` does nothing, so the code that holds it (a transaction's ROLLBACK, say) fails fast instead of hanging.
 */
function boundedClient(client: PoolClient, timeoutMs: number, work: WorkInFlight, stopsBefore: number): PoolClient {
  const pid = (client as unknown as { processID?: unknown }).processID;
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
    // Work begun before a deadline stopped the backends in flight: its caller was told it failed, so it must not
    // reach the server now (a checkout or a transaction's next statement that was still pending then).
    if (work.stops !== stopsBefore)
      return Promise.reject(new PostgresTimeoutError(timeoutMs, "(stopped at the deadline)"));
    const running = (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
    if (typeof pid === "number") {
      work.busy.add(pid);
      const idle = () => work.busy.delete(pid);
      running.then(idle, idle);
    }
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

/**
 * A new connection with the pool's settings, outside the pool (`pool.Client` is the client class the pool was
 * built with), or `undefined` for a pool without them (a test double).
 */
export function ownClient(pool: Pool): PoolClient | undefined {
  const { Client, options } = pool as unknown as { Client?: new (config: unknown) => PoolClient; options?: unknown };
  if (typeof Client !== "function") return undefined;
  const client = new Client(options);
  client.on("error", () => {});
  return client;
}

/** Ends the given backends through a connection of its own (the pool may be exhausted by the very queries). */
export async function stopBackends(pool: Pool, pids: readonly number[]): Promise<void> {
  const client = pids.length === 0 ? undefined : ownClient(pool);
  if (client === undefined) return;
  let gaveUp = false;
  const stopping = (async () => {
    await (client as unknown as { connect(): Promise<void> }).connect();
    // Too late, the pids may belong to other connections by now (a silent server came back): leave them alone.
    if (gaveUp) return;
    await client.query("SELECT pg_terminate_backend(pid, 1000) FROM unnest($1::int[]) AS pid", [pids]);
  })();
  await withDeadline(stopping, 1500, "to stop a query past its deadline").catch(() => {
    gaveUp = true;
  });
  void (client as unknown as { end(): Promise<void> }).end().catch(() => {});
}
