/**
 * The store for a fleet: PostgreSQL, with events written in the caller's transaction when asked.
 *
 * @module ad-seller-events/postgres
 */
export { postgresCheckpointSchemaSql } from "./postgres-checkpoints.js";
export { DEFAULT_POSTGRES_TIMEOUT_MS, PostgresTimeoutError } from "./postgres-deadline.js";
export { postgresDigestSchemaSql } from "./postgres-digests.js";
export type { PostgresTableName } from "./postgres-schema.js";
export {
  DEFAULT_POSTGRES_SCHEMA,
  DEFAULT_POSTGRES_TABLE,
  legacyPostgresIndexes,
  postgresSchemaSql,
} from "./postgres-schema.js";
export type { PostgresEventStorage, PostgresStorageOptions } from "./postgres-storage.js";
export { postgresStorage } from "./postgres-storage.js";
