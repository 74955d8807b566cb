import type { Pool } from "pg";
import { EventValidationError, StorageError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import type { Event } from "../../event/event.js";
import { isUuid } from "../../event/query.js";
import { resolvePruneOptions } from "../kit/prune-options.js";
import { withDigests } from "../kit/prune-records.js";
import type {
  AppendOutcome,
  EventStorage,
  NormalizedEventQuery,
  PruneOptions,
  StorageWatch,
  TransactionalAppend,
} from "../types.js";
import { AppendBatcher } from "./postgres-append.js";
import { postgresCheckpoints } from "./postgres-checkpoints.js";
import { boundedPool, DEFAULT_POSTGRES_TIMEOUT_MS, stopBackends, withDeadline } from "./postgres-deadline.js";
import { postgresDigests } from "./postgres-digests.js";
import { OperationGate } from "./postgres-gate.js";
import { preparedStatement } from "./postgres-insert.js";
import { getEventJson, getEventSql, type JsonReadContext, listEventJson } from "./postgres-json.js";
import { listEventRows } from "./postgres-list.js";
import { PositionWaiter } from "./postgres-positions.js";
import { pruneEvents } from "./postgres-prune.js";
import { type EventRow, rowToEvent } from "./postgres-rows.js";
import { type PostgresObjectNames, postgresSchemaSql, resolvePostgresNames } from "./postgres-schema.js";
import { Sequencer } from "./postgres-sequencer.js";
import { SharedReads } from "./postgres-shared-reads.js";
import { StatisticsKeeper } from "./postgres-statistics.js";
import { storeInCallerTransaction } from "./postgres-transaction.js";
import { PostgresWatch, postgresChannel, sequencerChannel } from "./postgres-watch.js";
import { postgresWebhooks } from "./postgres-webhooks.js";

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
   * Resolve `append` (and `emitEvent`) only once the new events have their reading position, so that a `list` right
   * after an emit shows them (read-your-writes). `false` resolves at commit and saves the wait (about one
   * sequencer step): the events then become readable a moment later. Default: `true`.
   */
  readonly awaitPosition?: boolean | undefined;
  /**
   * Deadline of every store call (append, get, list, schema setup, close), in milliseconds, and of each query and
   * connection checkout inside it. Past it the call rejects with a `StorageError` whose cause is a
   * `PostgresTimeoutError`, and a connection whose query did not answer is closed, never reused. The server backend
   * of a timed-out append is terminated before the caller hears of it, so it cannot commit later; only a server that
   * cannot be reached at all leaves that open: retry with the same `event_id` (identical retries are safe).
   * pg's own timeouts are complementary: `statement_timeout` (server side) cancels slow statements but cannot help
   * when the server or the network stops answering; `query_timeout` (pg client) bounds one query but not a checkout
   * or a transaction; set the pool's `connectionTimeoutMillis` at or below this value so that a connection attempt
   * into a black hole also frees its pool slot. See docs/hardening.md. Default: 5000.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Send a `pg_notify` after each committed append (coalesced, not awaited by the append), so that the table's
   * sequencer, when another process leads it, numbers the rows at once. Without it they are numbered on the
   * sequencer's poll (every 100 ms), and `append` waits that long for its positions.
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
 * multi-row INSERT statements (group commit) that take no lock and wait on no other writer. The table's sequencer
 * (one leader among the processes) gives committed rows their reading position in commit order; readers see rows
 * once positioned, so a reader tailing with `after` never skips an event that commits late, and no other
 * transaction can stall or hide a read. `emitEvent(input, { transaction: client })` writes in your transaction.
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
  const channel = postgresChannel(names);
  const watcher = new PostgresWatch(settings.pool, channel, settings.notify, pool, sequencerChannel(names));
  const waiter = new PositionWaiter(pool, table);
  const sequencer = new Sequencer({
    table,
    positionsChannel: channel,
    timeoutMs: settings.timeoutMs,
    dropSession: (session) => watcher.lost(session),
    onNumbered: (snapshot) => {
      waiter.numbered(snapshot);
      watcher.numbered();
    },
    announce: (snapshot) => watcher.announce(snapshot),
    stopBackend: (pid) => stopBackends(settings.pool, [pid]),
  });
  const batcher = new AppendBatcher({
    pool,
    qualifiedTable: table,
    maxBatchRows: settings.maxBatchRows,
    maxConcurrentStatements: settings.maxConcurrentInserts,
    statistics,
    // In the leading process an append is numbered in its own statement: one commit, readable at once.
    stamp: (chunk) => sequencer.stamp(chunk),
  });
  watcher.onAnnouncement = (payload) => waiter.numbered(payload);
  watcher.onWake = () => sequencer.wake();
  watcher.onSession = (session) => sequencer.useSession(session);
  // Started by the first write or watch: the session connection opens, listens, and stands for sequencer leader.
  let listening: StorageWatch | undefined;
  const takePart = () => {
    listening ??= watcher.watch(() => {});
  };
  const setup = async () => {
    if (settings.createSchema) await createSchemaObjects(pool, names);
    statistics.checkAtStart();
  };
  const stopBusy = async () => {
    await Promise.all([pool.stopBusy(), sequencer.stopBusy()]);
  };
  const gate = new OperationGate(table, settings.timeoutMs, setup, stopBusy);

  const run = <T>(operation: string, work: () => Promise<T>) => gate.run(operation, work);
  const json: JsonReadContext = { pool: settings.pool, bounded: pool, table, timeoutMs: settings.timeoutMs };
  const sharedPages = new SharedReads<string[]>();
  return withDigests(postgresDigests(pool, names, settings.createSchema, run), {
    name: NAME,
    table,
    ensureSchema: () => gate.run("setup", async () => {}),
    async append(events: readonly Event[]): Promise<readonly AppendOutcome[]> {
      if (events.length === 0) return [];
      takePart();
      const stored = await gate.run("append", () => batcher.submit(events));
      // Nothing new, or stored with positions by the leading process (already readable, tails told).
      if (stored.xid === undefined || stored.lastId === undefined || stored.positioned) return stored.outcomes;
      if (sequencer.leading) sequencer.wake();
      else watcher.appended();
      // Committed whatever happens next: a wait that runs out resolves all the same (readable a little later).
      if (settings.awaitPosition) await waiter.wait(stored.xid, stored.lastId, true, settings.timeoutMs);
      return stored.outcomes;
    },
    async appendInTransaction(events: readonly Event[], transaction: unknown): Promise<TransactionalAppend> {
      takePart();
      const stored = await gate.run("append", () =>
        storeInCallerTransaction(transaction, table, events, settings.maxBatchRows),
      );
      const { xid, lastId } = stored;
      const committed =
        xid === undefined || lastId === undefined ? Promise.resolve(true) : waiter.wait(xid, lastId, false);
      return { outcomes: stored.outcomes, committed };
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
      // JSON.stringify: equal texts are equal queries (the reverse need not hold: two such reads just do not share).
      const key = JSON.stringify(query);
      return gate.run("list", (deadline) =>
        sharedPages.run(key, deadline, (shared) => listEventJson(json, query, shared)),
      );
    },
    getJson(eventId: string): Promise<string | null> {
      // Not a UUID: no event can have it, and PostgreSQL would refuse the cast.
      if (!isUuid(eventId)) return gate.run("get", async () => null);
      return gate.run("get", (deadline) => getEventJson(json, eventId, deadline));
    },
    async prune(options: PruneOptions): Promise<number> {
      const settings = resolvePruneOptions(options);
      return gate.run("prune", () => pruneEvents(pool, table, settings));
    },
    watch: (onAppend) => {
      takePart();
      return watcher.watch(onAppend);
    },
    checkpoints: postgresCheckpoints(pool, names, settings.createSchema, (operation, work) =>
      gate.run(operation, work),
    ),
    webhooks: postgresWebhooks(pool, names, settings.createSchema, (operation, work) => gate.run(operation, work)),
    async close(): Promise<void> {
      const closing = (async () => {
        if (!(await gate.shut())) return;
        await batcher.whenIdle();
        waiter.close();
        await sequencer.close();
        await listening?.();
        await watcher.close();
        if (settings.closePool) await settings.pool.end();
      })();
      try {
        await withDeadline(closing, settings.timeoutMs, `to close ${table}`);
      } catch (error) {
        throw new StorageError(NAME, "close", error);
      }
    },
  });
}

async function getEventRow(pool: Pool, table: string, eventId: string): Promise<EventRow | null> {
  // Not a UUID: no event can have it, and PostgreSQL would refuse the cast.
  if (!isUuid(eventId)) return null;
  // Named: one shape, planned once per connection, and its plan does not depend on the value.
  const result = await pool.query<EventRow>({ ...preparedStatement("get", table, getEventSql), values: [eventId] });
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
  readonly awaitPosition: boolean;
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
  awaitPosition: true,
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
    awaitPosition: options.awaitPosition !== false,
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
    "SELECT bool_and(to_regclass(name) IS NOT NULL) AND (SELECT count(*) = 2 FROM pg_attribute " +
      "WHERE attrelid = to_regclass($2) AND attname IN ('body', 'position') AND NOT attisdropped) AS complete " +
      "FROM unnest($1::text[]) AS name",
    [names.relations, names.qualifiedTable],
  );
  if (present.rows[0]?.complete === true) return;
  const script = `${SETUP_LOCK_SQL}\n${postgresSchemaSql({ schema: names.schema, table: names.table })}`;
  // No parameters: sent as one simple query, which PostgreSQL runs as a single transaction.
  await pool.query(script);
}
