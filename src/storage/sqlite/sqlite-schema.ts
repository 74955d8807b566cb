import { EventValidationError } from "../../errors/error-classes.js";
import type { SqliteDatabase } from "./sqlite-driver.js";

/**
 * The table `sqliteStorage` uses when no `table` option is given.
 *
 * @example
 * ```ts
 * database.prepare(`SELECT count(*) AS n FROM ${DEFAULT_SQLITE_TABLE}`).get();
 * ```
 */
export const DEFAULT_SQLITE_TABLE = "events";

/**
 * Options of {@link sqliteSchemaSql}.
 *
 * @example
 * ```ts
 * const options: SqliteSchemaOptions = { table: "seller_events" };
 * database.exec(sqliteSchemaSql(options));
 * ```
 */
export interface SqliteSchemaOptions {
  /** Name of the events table; letters, digits and `_`, not starting with a digit or `sqlite_`. Default `"events"`. */
  readonly table?: string | undefined;
}

/** The filter columns that each get a `(column, seq)` index, so a filtered newest-first read stops after `limit` rows. */
export const SQLITE_INDEXED_COLUMNS = [
  "flow_id",
  "flow_type",
  "proposal_id",
  "deal_id",
  "session_id",
  "event_type",
] as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The SQL that creates the events table and its indexes, for teams that run their own migrations (pass
 * `createSchema: false` to `sqliteStorage` then). Every statement is `IF NOT EXISTS`, so running it twice is harmless.
 *
 * `seq` is `AUTOINCREMENT` so that an append sequence is never handed out twice, even after the newest rows are
 * deleted: tailing readers rely on "after" meaning "appended later", forever.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { sqliteSchemaSql } from "ad-seller-events/sqlite";
 *
 * writeFileSync("migrations/0001_events.sql", sqliteSchemaSql({ table: "seller_events" }));
 * ```
 */
export function sqliteSchemaSql(options: SqliteSchemaOptions = {}): string {
  const table = checkTableName(options.table);
  const name = quoteIdentifier(table);
  const indexes = SQLITE_INDEXED_COLUMNS.map(
    (column) =>
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_${column}_seq`)} ON ${name} (${quoteIdentifier(column)}, seq);`,
  );
  // The time index lets a narrow `since`/`until` range drive a read (and be counted) instead of a walk of a large index.
  indexes.push(
    `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_timestamp_seq`)} ON ${name} ("timestamp", seq);`, // see timeIndexName
  );
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (`,
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,",
    "  event_id TEXT NOT NULL UNIQUE,",
    "  event_type TEXT NOT NULL,",
    '  "timestamp" TEXT NOT NULL, -- canonical ISO-8601 UTC with milliseconds and Z: sorts as text',
    "  flow_id TEXT NOT NULL DEFAULT '',",
    "  flow_type TEXT NOT NULL DEFAULT '',",
    "  proposal_id TEXT NOT NULL DEFAULT '',",
    "  deal_id TEXT NOT NULL DEFAULT '',",
    "  session_id TEXT NOT NULL DEFAULT '',",
    "  payload TEXT NOT NULL DEFAULT '{}', -- JSON object",
    "  metadata TEXT NOT NULL DEFAULT '{}', -- JSON object",
    "  body TEXT -- the event's JSON as the bus wrote it, served as it is; NULL in rows other tools write",
    ");",
    ...indexes,
    "-- Ids deleted by prune(), so that a cursor naming one answers EventGapError instead of 'unknown cursor'.",
    `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(`${table}_pruned`)} (event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;`,
    "",
  ].join("\n");
}

/**
 * Adds the `body` column to a table created by an earlier release (`CREATE TABLE IF NOT EXISTS` leaves it as it
 * was). Its rows keep `body` NULL and are served from their columns; new rows carry it.
 */
export function addMissingColumns(database: SqliteDatabase, table: string): void {
  if (!tableHasBody(database, table)) database.exec(`ALTER TABLE ${quoteIdentifier(table)} ADD COLUMN body TEXT`);
}

/** Whether the table has the `body` column (tables of earlier releases, or hand-made ones, may lack it). */
export function tableHasBody(database: SqliteDatabase, table: string): boolean {
  const columns = database.prepare(`PRAGMA table_info(${quoteIdentifier(table)})`).all() as { name?: unknown }[];
  return columns.some((column) => column.name === "body");
}

/** Returns the table name to use, or throws `EventValidationError` when it is not a plain SQL identifier. */
export function checkTableName(table: unknown = DEFAULT_SQLITE_TABLE): string {
  if (typeof table !== "string" || !IDENTIFIER.test(table) || /^sqlite_/i.test(table)) {
    const shown = typeof table === "string" ? JSON.stringify(table) : typeof table;
    throw EventValidationError.forField(
      "table",
      "must be a plain SQL identifier (letters, digits and _, not starting with a digit or sqlite_, " +
        `at most 63 characters), got ${shown}`,
    );
  }
  return table;
}

/** Quotes a name that has already passed {@link checkTableName} (or is one of ours). */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}
