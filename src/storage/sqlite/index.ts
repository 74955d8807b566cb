/**
 * The embedded durable store: one SQLite table, through better-sqlite3 or `node:sqlite`.
 *
 * @module ad-seller-events/sqlite
 */
export { sqliteCheckpointSchemaSql } from "./sqlite-checkpoints.js";
export { sqliteDigestSchemaSql } from "./sqlite-digests.js";
export type { SqliteDatabase, SqliteDriverName, SqliteStatement } from "./sqlite-driver.js";
export type { SqliteSchemaOptions } from "./sqlite-schema.js";
export { DEFAULT_SQLITE_TABLE, sqliteSchemaSql } from "./sqlite-schema.js";
export type { SqliteEventStorage, SqliteStorageOptions } from "./sqlite-storage.js";
export { DEFAULT_SQLITE_BUSY_TIMEOUT_MS, sqliteStorage } from "./sqlite-storage.js";
export { DEFAULT_SQLITE_WATCH_INTERVAL_MS } from "./sqlite-watch.js";
