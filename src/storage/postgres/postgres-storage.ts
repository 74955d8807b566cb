import type { Pool } from "pg";
import { EventBusError, EventValidationError, StorageError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import type { Event } from "../../event/event.js";
import { isUuid } from "../../event/query.js";
import { resolvePruneOptions } from "../kit/prune-options.js";
import { closedError } from "../kit/store-errors.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery, PruneOptions } from "../types.js";
import { AppendBatcher } from "./postgres-append.js";
import { postgresCheckpoints } from "./postgres-checkpoints.js";
import { boundedPool, DEFAULT_POSTGRES_TIMEOUT_MS, withDeadline } from "./postgres-deadline.js";
import { statementName } from "./postgres-insert.js";
import { listEventJson, listEventRows } from "./postgres-list.js";
import { pruneEvents } from "./postgres-prune.js";
import { EVENT_COLUMNS, type EventRow, rowToEvent, rowToJson } from "./postgres-rows.js";
import { type PostgresObjectNames, postgresSchemaSql, resolvePostgresNames } from "./postgres-schema.js";
import { StatisticsKeeper } from "./postgres-statistics.js";
import { PostgresWatch, postgresChannel } from "./postgres-watch.js";

/**
 * Options of {@link postgresStorage}. Only `pool` is required.
 *
 * @example
 * ```ts
 * const options: PostgresStorageOptions = { pool, schema: "seller", table: "events", createSchema: false };
 * const storage = postgresStorage(options);
 * ```
 */
export interface PostgresStorageOptions {
  /**
   * A `pg` `Pool` you own. The adapter runs its statements through it and never ends it unless `closePool` is set.
   * Attach a `pool.on("error", ...)` listener: `pg` reports a dropped idle connection there, and an unhandled
   * `error` event ends the process.
   */
  readonly pool: Pool;
  /** Schema of the events table: a lower-case SQL identifier. Default: `"public"`. */
  readonly schema?: string | undefined;
  /** Name of the events table: a lower-case SQL identifier of at most 47 characters. Default: `"ad_seller_events"`. */
  readonly table?: string | undefined;
  /** End the pool in `close()`. Default: `false` (the pool is yours). */
  readonly closePool?: boolean | undefined;
  /**
   * Create the schema, table and indexes on first use when any of them is missing (idempotent, safe when many
   * processes start at once). Set `false` when you apply `postgresSchemaSql()` through your own migrations.
   * Default: `true`.
   */
  readonly createSchema?: boolean | undefined;
  /** Most rows one group-commit INSERT statement carries. Default: `500`. */
  readonly maxBatchRows?: number | undefined;
  /** Most group-commit INSERT statements in flight at once (each holds a pool connection). Default: `2`. */
  readonly maxConcurrentInserts?: number | undefined;
  /**
   * Run `ANALYZE` on the table in the background as it grows (when the rows this process appended pass 1k, 4k,
   * 16k, ..., and at start when the table changed by more than its size since its last ANALYZE), so that combined
   * filters keep the right plan on a freshly grown table. Needs the table's owner (or MAINTAIN); without it the
   * refresh is skipped. Default: `true`.
   */
  readonly analyzeOnGrowth?: boolean | undefined;
  /**
   * Deadline of every store call (append, get, list, schema setup, close), in milliseconds, and of each query and
   * connection checkout inside it. Past it the call rejects with a `StorageError` whose cause is a
   * `PostgresTimeoutError`, and a connection whose query did not answer is closed, never reused. An append that timed
   * out may still have been stored: retry it with the same `event_id` (retries of identical content are safe).
   * pg's own timeouts are complementary: `statement_timeout` (server side) cancels slow statements but cannot help
   * when the server or the network stops answering; `query_timeout` (pg client) bounds one query but not a checkout
   * or a transaction; set the pool's `connectionTimeoutMillis` at or below this value so that a connection attempt
   * into a black hole also frees its pool slot. See docs/hardening.md. Default: 5000.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Send a `pg_notify` after each committed append (coalesced, not awaited by the append), so that tails in other
   * processes wake at once. Without it they still see every event, on their safety poll (about a second later).
   * Default: `true`.
   */
  readonly notify?: boolean | undefined;
}

/**
 * The PostgreSQL `EventStorage`, plus what a deployment may want to call itself.
 *
 * @example
 * ```ts
 * const storage: PostgresEventStorage = postgresStorage({ pool });
 * await storage.ensureSchema(); // fail at boot, not on the first emit
 * ```
 */
export interface PostgresEventStorage extends EventStorage {
  /** The quoted, schema-qualified table name, e.g. `"public"."ad_seller_events"`. */
  readonly table: string;
  /**
   * Creates the table and indexes now instead of on first use, so that a bad connection or missing privilege fails
   * at boot. Rejects with `StorageError`; calling it again retries. Does nothing when `createSchema` is `false`.
   */
  ensureSchema(): Promise<void>;
  /** Retention, always present on this adapter: see `EventStorage.prune` and docs/retention.md. */
  prune(options: PruneOptions): Promise<number>;
}

const NAME = "postgres";
const SETUP_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('ad-seller-events:schema-setup', 0));";

/**
 * Event storage in PostgreSQL, shared by any number of seller processes. Concurrent appends in one process share
 * multi-row INSERT statements (group commit); each statement takes the append sequence under a short per-table lock
 * held to its commit, so the sequence is commit order and a reader tailing with `after` never skips an event that
 * commits late, while no unrelated transaction can stall or hide a read.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { EventBus } from "ad-seller-events";
 * import { postgresStorage } from "ad-seller-events/postgres";
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * pool.on("error", (error) => console.warn("idle postgres connection lost", error.message));
 * const bus = new EventBus({ storage: postgresStorage({ pool, table: "seller_events" }) });
 * ```
 */
export function postgresStorage(options: PostgresStorageOptions): PostgresEventStorage {
  const settings = readOptions(options);
  const { names } = settings;
  // Every statement of the adapter goes through the bounded pool; only `end()` (in close) and the LISTEN client of
  // `watch` (held open for as long as a tail is, so no query deadline applies) come from the caller's pool directly.
  const pool = boundedPool(settings.pool, settings.timeoutMs);
  const table = names.qualifiedTable;
  const statistics = new StatisticsKeeper(pool, table, settings.analyzeOnGrowth);
  const batcher = new AppendBatcher({
    pool,
    qualifiedTable: table,
    maxBatchRows: settings.maxBatchRows,
    maxConcurrentStatements: settings.maxConcurrentInserts,
    statistics,
  });
  const watcher = new PostgresWatch(settings.pool, postgresChannel(names), settings.notify, pool);
  const setup = async () => {
    if (settings.createSchema) await createSchemaObjects(pool, names);
    statistics.checkAtStart();
  };
  const gate = new OperationGate(table, settings.timeoutMs, setup);

  return {
    name: NAME,
    table,
    ensureSchema: () => gate.run("setup", async () => {}),
    append(events: readonly Event[]): Promise<readonly AppendOutcome[]> {
      if (events.length === 0) return Promise.resolve([]);
      return gate
        .run("append", () => batcher.submit(events))
        .then((outcomes) => {
          if (outcomes.includes(null)) watcher.appended();
          return outcomes;
        });
    },
    get(eventId: string): Promise<Event | null> {
      return gate.run("get", async () => {
        const row = await getEventRow(pool, table, eventId);
        return row === null ? null : rowToEvent(row);
      });
    },
    list(query: NormalizedEventQuery): Promise<Event[]> {
      return gate.run("list", () => listEventRows(pool, table, query));
    },
    listJson(query: NormalizedEventQuery): Promise<string[]> {
      return gate.run("list", () => listEventJson(pool, table, query));
    },
    getJson(eventId: string): Promise<string | null> {
      return gate.run("get", async () => {
        const row = await getEventRow(pool, table, eventId);
        return row === null ? null : rowToJson(row);
      });
    },
    async prune(options: PruneOptions): Promise<number> {
      const settings = resolvePruneOptions(options);
      return gate.run("prune", () => pruneEvents(pool, table, settings));
    },
    watch: (onAppend) => watcher.watch(onAppend),
    checkpoints: postgresCheckpoints(pool, names, settings.createSchema, (operation, work) =>
      gate.run(operation, work),
    ),
    async close(): Promise<void> {
      const closing = (async () => {
        if (!(await gate.shut())) return;
        await batcher.whenIdle();
        await watcher.close();
        if (settings.closePool) await settings.pool.end();
      })();
      try {
        await withDeadline(closing, settings.timeoutMs, `to close ${table}`);
      } catch (error) {
        throw new StorageError(NAME, "close", error);
      }
    },
  };
}

/**
 * Every operation passes through here: it refuses work once closed, creates the schema first (once), turns driver
 * errors into `StorageError`, and tracks calls in flight so that `close()` can wait for them.
 */
class OperationGate {
  private schemaReady: Promise<void> | undefined;
  private closed = false;
  private readonly active = new Set<Promise<unknown>>();

  constructor(
    private readonly table: string,
    private readonly timeoutMs: number,
    private readonly setup: (() => Promise<void>) | undefined,
  ) {}

  run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(closedError(`the postgres storage of ${this.table}`));
    }
    // The whole call, queueing for a group commit and schema setup included, answers within the deadline. A call
    // that timed out while the schema was being set up takes that attempt with it, so the next call starts afresh.
    const waiting: { setup: Promise<void> | undefined } = { setup: undefined };
    const forgetSetup = () => {
      if (waiting.setup !== undefined && this.schemaReady === waiting.setup) this.schemaReady = undefined;
    };
    const deadline = `to ${operation} on ${this.table}`;
    const call = withDeadline(this.guard(operation, work, waiting), this.timeoutMs, deadline, forgetSetup).catch(
      (error: unknown) => {
        throw error instanceof EventBusError ? error : new StorageError(NAME, operation, error);
      },
    );
    this.active.add(call);
    const forget = () => this.active.delete(call);
    call.then(forget, forget);
    return call;
  }

  /** Closes the gate and waits for calls in flight; false when it was closed already. */
  async shut(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await Promise.allSettled([...this.active]);
    return true;
  }

  private async guard<T>(
    operation: string,
    work: () => Promise<T>,
    waiting: { setup: Promise<void> | undefined },
  ): Promise<T> {
    try {
      waiting.setup = this.ensureSchema();
      await waiting.setup;
      waiting.setup = undefined;
      return await work();
    } catch (error) {
      if (error instanceof EventBusError) throw error;
      throw new StorageError(NAME, operation, error);
    }
  }

  private ensureSchema(): Promise<void> {
    if (this.setup === undefined) return Promise.resolve();
    // A failed attempt is forgotten, so that the next call retries once the server is reachable again.
    this.schemaReady ??= this.setup().catch((error: unknown) => {
      this.schemaReady = undefined;
      throw new StorageError(NAME, "setup", error);
    });
    return this.schemaReady;
  }
}

async function getEventRow(pool: Pool, table: string, eventId: string): Promise<EventRow | null> {
  // Not a UUID: no event can have it, and PostgreSQL would refuse the cast.
  if (!isUuid(eventId)) return null;
  // Named: one shape, planned once per connection, and its plan does not depend on the value.
  const result = await pool.query<EventRow>({
    name: statementName("get", table),
    text: `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE event_id = $1::uuid`,
    values: [eventId],
  });
  return result.rows[0] ?? null;
}

interface ResolvedOptions {
  readonly pool: Pool;
  readonly names: PostgresObjectNames;
  readonly closePool: boolean;
  readonly createSchema: boolean;
  readonly maxBatchRows: number;
  readonly maxConcurrentInserts: number;
  readonly timeoutMs: number;
  readonly notify: boolean;
  readonly analyzeOnGrowth: boolean;
}

const POSTGRES_OPTION_KEYS: OptionKeys<PostgresStorageOptions> = {
  pool: true,
  schema: true,
  table: true,
  closePool: true,
  createSchema: true,
  maxBatchRows: true,
  maxConcurrentInserts: true,
  timeoutMs: true,
  notify: true,
  analyzeOnGrowth: true,
};

function readOptions(options: PostgresStorageOptions): ResolvedOptions {
  checkOptionKeys(options, POSTGRES_OPTION_KEYS, "postgresStorage");
  const pool = (options as Partial<PostgresStorageOptions> | undefined)?.pool;
  if (typeof pool?.query !== "function" || typeof pool.connect !== "function") {
    throw EventValidationError.forField("pool", "must be a pg Pool, e.g. new pg.Pool({ connectionString })");
  }
  return {
    pool,
    names: resolvePostgresNames(options),
    closePool: options.closePool === true,
    createSchema: options.createSchema !== false,
    maxBatchRows: readInteger(options.maxBatchRows, "maxBatchRows", 500, 1),
    maxConcurrentInserts: readInteger(options.maxConcurrentInserts, "maxConcurrentInserts", 2, 1),
    timeoutMs: readInteger(options.timeoutMs, "timeoutMs", DEFAULT_POSTGRES_TIMEOUT_MS, 1),
    notify: options.notify !== false,
    analyzeOnGrowth: options.analyzeOnGrowth !== false,
  };
}

function readInteger(value: number | undefined, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw EventValidationError.forField(field, `must be an integer of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Creates whatever is missing. The catalogue check comes first so that a running system (or a role without
 * CREATE privilege, once migrated) never takes the DDL locks; the DDL runs as one implicit transaction under a
 * transaction-level advisory lock, because concurrent `CREATE ... IF NOT EXISTS` can still fail with a catalogue
 * unique violation when several processes start on an empty database.
 */
async function createSchemaObjects(pool: Pool, names: PostgresObjectNames): Promise<void> {
  const present = await pool.query<{ complete: boolean }>(
    "SELECT bool_and(to_regclass(name) IS NOT NULL) AND EXISTS (SELECT 1 FROM pg_attribute " +
      "WHERE attrelid = to_regclass($2) AND attname = 'body' AND NOT attisdropped) AS complete " +
      "FROM unnest($1::text[]) AS name",
    [names.relations, names.qualifiedTable],
  );
  if (present.rows[0]?.complete === true) return;
  const script = `${SETUP_LOCK_SQL}\n${postgresSchemaSql({ schema: names.schema, table: names.table })}`;
  // No parameters: sent as one simple query, which PostgreSQL runs as a single transaction.
  await pool.query(script);
}
