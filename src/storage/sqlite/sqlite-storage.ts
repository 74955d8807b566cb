import { EventValidationError } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import { resolvePruneOptions } from "../kit/prune-options.js";
import { withDigests } from "../kit/prune-records.js";
import { callStoreSync, closedError, storageFailure } from "../kit/store-errors.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery, PruneOptions, TransactionalAppend } from "../types.js";
import { SqliteEventAppender } from "./sqlite-append.js";
import { sqliteCheckpoints } from "./sqlite-checkpoints.js";
import { sqliteDigests } from "./sqlite-digests.js";
import {
  detectSqliteDriver,
  inWriteTransaction,
  readScalar,
  type SqliteDatabase,
  type SqliteDriverName,
  StatementCache,
} from "./sqlite-driver.js";
import { SqliteEventReader } from "./sqlite-list.js";
import { pruneEvents } from "./sqlite-prune.js";
import { addMissingColumns, checkTableName, sqliteSchemaSql } from "./sqlite-schema.js";
import { appendInSqliteTransaction } from "./sqlite-transaction.js";
import { DEFAULT_SQLITE_WATCH_INTERVAL_MS, SqliteWatch } from "./sqlite-watch.js";
import { sqliteWebhooks } from "./sqlite-webhooks.js";

/**
 * How long a connection waits for another connection's write lock before failing with SQLITE_BUSY, when neither
 * the `busyTimeoutMs` option nor the connection itself sets one: 5 seconds.
 *
 * @example
 * ```ts
 * sqliteStorage({ database, busyTimeoutMs: 2 * DEFAULT_SQLITE_BUSY_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Options of {@link sqliteStorage}.
 *
 * @example
 * ```ts
 * const options: SqliteStorageOptions = {
 *   database: new Database(".data/events.sqlite"),
 *   table: "seller_events",
 *   closeDatabase: true,
 *   synchronous: "normal",
 * };
 * const storage = sqliteStorage(options);
 * ```
 */
export interface SqliteStorageOptions {
  /**
   * An open connection: a better-sqlite3 `Database`, or a `node:sqlite` `DatabaseSync` (Node >= 22.13, or 22.5 with
   * `--experimental-sqlite`). The adapter sets `busy_timeout`, `journal_mode` and `synchronous` on it at first use.
   */
  readonly database: SqliteDatabase;
  /** Name of the events table (letters, digits and `_`; not starting with a digit or `sqlite_`). Default `"events"`. */
  readonly table?: string | undefined;
  /** Close `database` when the storage is closed. Default `false`: a connection you pass in stays yours. */
  readonly closeDatabase?: boolean | undefined;
  /**
   * Create the table and its indexes (idempotently) at first use. Default `true`. Set `false` when you run
   * `sqliteSchemaSql()` through your own migrations; a missing table then fails the first call with a `StorageError`.
   */
  readonly createSchema?: boolean | undefined;
  /**
   * Switch a file database to write-ahead logging at first use, so readers never block the writer. Default `true`.
   * In-memory and temporary databases are left alone. Turn it off only for file systems without shared memory (NFS).
   */
  readonly wal?: boolean | undefined;
  /**
   * `PRAGMA synchronous` for this connection. `"full"` (default) syncs the log on every commit: an emitted event
   * survives a power cut. `"normal"` syncs only at checkpoints: faster, and still never corrupt, but a power cut or
   * OS crash may lose the last commits. Durable consumers' checkpoint writes commit under `"normal"` either way (in
   * WAL mode): a power cut can only hand their events again.
   */
  readonly synchronous?: "full" | "normal" | undefined;
  /**
   * Milliseconds a write waits for another connection's lock before failing. Default: the connection's own setting
   * when it has one (better-sqlite3's `timeout`, 5000 unless changed), otherwise {@link DEFAULT_SQLITE_BUSY_TIMEOUT_MS}.
   * The drivers are synchronous: the wait blocks this thread.
   */
  readonly busyTimeoutMs?: number | undefined;
  /**
   * While a tail watches this store, how often to check for commits by other connections (`PRAGMA data_version`),
   * in milliseconds. Default {@link DEFAULT_SQLITE_WATCH_INTERVAL_MS} (20).
   */
  readonly watchIntervalMs?: number | undefined;
}

/**
 * The storage `sqliteStorage` returns: an `EventStorage` that also tells which driver and table it uses.
 *
 * @example
 * ```ts
 * const storage: SqliteEventStorage = sqliteStorage({ database });
 * console.log(storage.driver, storage.table); // "better-sqlite3" "events"
 * ```
 */
export interface SqliteEventStorage extends EventStorage {
  /** The driver `database` was recognised as. */
  readonly driver: SqliteDriverName;
  /** The events table. */
  readonly table: string;
  /** Retention, always present on this adapter: see `EventStorage.prune` and docs/retention.md. */
  prune(options: PruneOptions): Promise<number>;
}

/**
 * The embedded durable store: one SQLite table with an append sequence, unique `event_id`, and a `(column, seq)`
 * index per filter, so a filtered `list` reads O(limit) rows however many events are stored. A batch is appended
 * in one `BEGIN IMMEDIATE` transaction. Several processes may open the same file; SQLite's locking orders them.
 *
 * @example
 * ```ts
 * import Database from "better-sqlite3"; // or: import { DatabaseSync } from "node:sqlite";
 * import { EventBus } from "ad-seller-events";
 * import { sqliteStorage } from "ad-seller-events/sqlite";
 *
 * const storage = sqliteStorage({ database: new Database("events.sqlite"), closeDatabase: true });
 * const bus = new EventBus({ storage, closeStorage: true });
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions): SqliteEventStorage {
  const settings = resolveSettings(options);
  const { database, table } = settings;
  // Reads and writes share one cache of prepared statements, dropped at close.
  const statements = new StatementCache(database);
  const reader = new SqliteEventReader(database, table, statements);
  const appender = new SqliteEventAppender(database, table, statements, reader);
  let ready = false;
  let closed = false;
  const watcher = new SqliteWatch(database, settings.watchIntervalMs, () => !closed);

  function use<T>(operation: string, work: () => T): T {
    if (closed) throw closedError(`the sqlite storage of table "${table}"`);
    if (!ready) {
      wrapFailure("setup", () => setUp(database, settings));
      ready = true;
    }
    return wrapFailure(operation, work);
  }

  return withDigests(sqliteDigests(database, table, use, settings.createSchema), {
    name: "sqlite",
    driver: settings.driver,
    table,
    async append(batch: readonly Event[]): Promise<readonly AppendOutcome[]> {
      const outcomes = use("append", () => appender.append(batch));
      if (outcomes.includes(null)) watcher.appended();
      return outcomes;
    },
    async appendInTransaction(batch: readonly Event[], transaction: unknown): Promise<TransactionalAppend> {
      // Setup sets PRAGMAs, which SQLite refuses inside a transaction.
      if (!ready && !closed) {
        throw EventValidationError.forField(
          "transaction",
          "the store is not set up yet: make one call outside a transaction first (e.g. listEvents at boot)",
        );
      }
      // Synchronous up to here, so that it runs inside a caller's db.transaction(fn) too.
      return use("append", () =>
        appendInSqliteTransaction(database, appender, reader, batch, transaction, () => watcher.appended()),
      );
    },
    async get(eventId: string): Promise<Event | null> {
      return use("get", () => reader.get(eventId));
    },
    async list(query: NormalizedEventQuery): Promise<Event[]> {
      return use("list", () => reader.list(query));
    },
    watch: (onAppend) => watcher.watch(onAppend),
    checkpoints: sqliteCheckpoints(database, statements, table, use, settings.createSchema),
    webhooks: sqliteWebhooks(database, table, use, settings.createSchema),
    async listJson(query: NormalizedEventQuery): Promise<string[]> {
      return use("list", () => reader.listJson(query));
    },
    async getJson(eventId: string): Promise<string | null> {
      return use("get", () => reader.getJson(eventId));
    },
    async prune(options: PruneOptions): Promise<number> {
      const settings = resolvePruneOptions(options);
      // Each batch goes through `use`, so a closed store or a driver error surfaces as it does for any operation.
      return use("prune", () => pruneEvents(database, statements, table, settings)).catch((error: unknown) => {
        throw storageFailure("sqlite", "prune", error);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      watcher.stop();
      statements.clear();
      if (settings.closeDatabase) wrapFailure("close", () => database.close());
    },
  });
}

interface SqliteSettings {
  readonly database: SqliteDatabase;
  readonly driver: SqliteDriverName;
  readonly table: string;
  readonly closeDatabase: boolean;
  readonly createSchema: boolean;
  readonly wal: boolean;
  readonly synchronous: "full" | "normal";
  readonly busyTimeoutMs: number | undefined;
  readonly watchIntervalMs: number;
}

const SQLITE_OPTION_KEYS: OptionKeys<SqliteStorageOptions> = {
  database: true,
  table: true,
  closeDatabase: true,
  createSchema: true,
  wal: true,
  synchronous: true,
  busyTimeoutMs: true,
  watchIntervalMs: true,
};

function resolveSettings(given: SqliteStorageOptions): SqliteSettings {
  const options = readOptions(given, SQLITE_OPTION_KEYS, "sqliteStorage");
  const { synchronous = "full", busyTimeoutMs, watchIntervalMs = DEFAULT_SQLITE_WATCH_INTERVAL_MS } = options;
  if (!(Number.isInteger(watchIntervalMs) && watchIntervalMs >= 1)) {
    throw EventValidationError.forField(
      "watchIntervalMs",
      `must be a positive integer, got ${showValue(watchIntervalMs)}`,
    );
  }
  if (synchronous !== "full" && synchronous !== "normal") {
    throw EventValidationError.forField("synchronous", `must be "full" or "normal", got ${showValue(synchronous)}`);
  }
  if (busyTimeoutMs !== undefined && !(Number.isInteger(busyTimeoutMs) && busyTimeoutMs >= 0)) {
    throw EventValidationError.forField(
      "busyTimeoutMs",
      `must be a non-negative integer, got ${showValue(busyTimeoutMs)}`,
    );
  }
  return {
    database: options.database,
    driver: detectSqliteDriver(options.database),
    table: checkTableName(options.table),
    closeDatabase: options.closeDatabase === true,
    createSchema: options.createSchema !== false,
    wal: options.wal !== false,
    synchronous,
    busyTimeoutMs,
    watchIntervalMs,
  };
}

/** Connection settings first (a busy timeout before anything that may wait on a lock), then the schema. */
function setUp(database: SqliteDatabase, settings: SqliteSettings): void {
  const currentTimeout = Number(readScalar(database, "PRAGMA busy_timeout"));
  const timeout = settings.busyTimeoutMs ?? (currentTimeout > 0 ? currentTimeout : DEFAULT_SQLITE_BUSY_TIMEOUT_MS);
  if (timeout !== currentTimeout) database.exec(`PRAGMA busy_timeout = ${timeout}`);
  if (settings.wal && isFileDatabase(database)) database.exec("PRAGMA journal_mode = WAL");
  database.exec(`PRAGMA synchronous = ${settings.synchronous.toUpperCase()}`);
  if (settings.createSchema) {
    const schema = sqliteSchemaSql({ table: settings.table });
    inWriteTransaction(database, () => {
      database.exec(schema);
      addMissingColumns(database, settings.table);
    });
    return;
  }
  const found = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(settings.table);
  if (found === undefined) {
    throw new Error(
      `table "${settings.table}" does not exist; create it with sqliteSchemaSql({ table }) in your migrations, ` +
        "or leave createSchema on",
    );
  }
}

/** In-memory and temporary databases have no file name, and no use for WAL. */
function isFileDatabase(database: SqliteDatabase): boolean {
  const main = (database.prepare("PRAGMA database_list").all() as { name?: unknown; file?: unknown }[]).find(
    (entry) => entry.name === "main",
  );
  return typeof main?.file === "string" && main.file !== "";
}

/** Our own errors pass through; a driver's error becomes a `StorageError` naming the operation. */
function wrapFailure<T>(operation: string, work: () => T): T {
  return callStoreSync("sqlite", operation, work);
}
