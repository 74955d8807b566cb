import { EventValidationError } from "../../errors/error-classes.js";

/** A value the adapter binds to a statement. */
export type SqliteValue = string | number;

/**
 * The part of a prepared statement the adapter uses: better-sqlite3's `Statement` and `node:sqlite`'s
 * `StatementSync` both have it. Declared here so that neither driver's types are needed to compile. Parameters are
 * `unknown` (and these are methods, whose parameters TypeScript compares bivariantly) so that both drivers' own
 * parameter types fit, including better-sqlite3's generic ones.
 *
 * @example
 * ```ts
 * const statement: SqliteStatement = database.prepare("SELECT count(*) AS n FROM events");
 * const { n } = statement.get() as { n: number };
 * ```
 */
export interface SqliteStatement {
  run(...params: unknown[]): { readonly changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * A synchronous SQLite connection: a better-sqlite3 `Database` or a `node:sqlite` `DatabaseSync`
 * (structurally typed, so neither package's types are required).
 *
 * @example
 * ```ts
 * import Database from "better-sqlite3";
 * const database: SqliteDatabase = new Database("events.sqlite");
 * ```
 */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  close(): unknown;
}

/**
 * Which driver a {@link SqliteDatabase} comes from, told apart by shape.
 *
 * @example
 * ```ts
 * if (sqliteStorage({ database }).driver === "node:sqlite") console.log("no native addon needed");
 * ```
 */
export type SqliteDriverName = "better-sqlite3" | "node:sqlite";

/**
 * Tells which driver `database` belongs to: better-sqlite3 connections have `pragma()` and `transaction()`,
 * `node:sqlite` ones do not. Throws `EventValidationError` for anything that is not a SQLite connection.
 */
export function detectSqliteDriver(database: unknown): SqliteDriverName {
  const candidate = database as Partial<Record<string, unknown>> | null | undefined;
  const missing = ["prepare", "exec", "close"].filter((method) => typeof candidate?.[method] !== "function");
  if (typeof database !== "object" || database === null || missing.length > 0) {
    const got =
      database === null
        ? "null"
        : typeof database === "object"
          ? `an object without ${missing.join(", ")}()`
          : typeof database;
    throw EventValidationError.forField(
      "database",
      `must be a better-sqlite3 Database or a node:sqlite DatabaseSync, got ${got}`,
    );
  }
  const looksLikeBetterSqlite3 = typeof candidate?.pragma === "function" && typeof candidate.transaction === "function";
  return looksLikeBetterSqlite3 ? "better-sqlite3" : "node:sqlite";
}

/**
 * Prepared statements by SQL text. `list` builds its SQL from the filters present, so the number of shapes is
 * bounded but not tiny; the least recently used statement goes once `capacity` is reached.
 */
export class StatementCache {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(
    private readonly database: SqliteDatabase,
    private readonly capacity = 128,
  ) {}

  get(sql: string): SqliteStatement {
    let statement = this.statements.get(sql);
    if (statement !== undefined) {
      // Re-inserting moves the entry to the back of the Map's order: the front is the least recently used.
      this.statements.delete(sql);
    } else {
      statement = this.database.prepare(sql);
      if (this.statements.size >= this.capacity) {
        const oldest = this.statements.keys().next();
        if (oldest.done !== true) this.statements.delete(oldest.value);
      }
    }
    this.statements.set(sql, statement);
    return statement;
  }

  clear(): void {
    this.statements.clear();
  }
}

/**
 * Runs `work` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back when it throws. IMMEDIATE takes the write lock up
 * front, so a second process waits on `busy_timeout` at BEGIN instead of failing with SQLITE_BUSY when a read
 * transaction tries to upgrade to a write midway.
 */
export function inWriteTransaction<T>(database: SqliteDatabase, work: () => T): T {
  database.exec("BEGIN IMMEDIATE");
  let result: T;
  try {
    result = work();
    database.exec("COMMIT");
  } catch (error) {
    try {
      database.exec("ROLLBACK");
    } catch {
      // Some errors (SQLITE_FULL, SQLITE_IOERR...) already rolled the transaction back; the original error matters.
    }
    throw error;
  }
  return result;
}

/** The first column of the first row of `sql`, for PRAGMA reads. */
export function readScalar(database: SqliteDatabase, sql: string): unknown {
  const row = database.prepare(sql).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}
