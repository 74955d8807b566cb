import type { CheckpointStore, CheckpointWrite, ConsumerLease, ConsumerQuery, DeadLetter } from "../types.js";
import { inWriteTransaction, type SqliteDatabase, type StatementCache } from "./sqlite-driver.js";
import { checkTableName, quoteIdentifier } from "./sqlite-schema.js";
import { commitUnflushed } from "./sqlite-unflushed.js";

/**
 * The SQL that creates the consumer tables beside an events table (`{table}_consumers`, one row per consumer name
 * with its position and lease; `{table}_dead_letters`), for teams that run their own migrations. Idempotent.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { sqliteCheckpointSchemaSql } from "ad-seller-events/sqlite";
 *
 * writeFileSync("migrations/0002_consumers.sql", sqliteCheckpointSchemaSql({ table: "seller_events" }));
 * ```
 */
export function sqliteCheckpointSchemaSql(options: { readonly table?: string | undefined } = {}): string {
  const { consumers, deadLetters, deadLettersIndex } = checkpointTables(checkTableName(options.table));
  return [
    `CREATE TABLE IF NOT EXISTS ${consumers} (`,
    "  name TEXT PRIMARY KEY,",
    "  position TEXT, -- event_id of the last handled event",
    "  owner TEXT, -- instance holding the lease",
    "  generation INTEGER NOT NULL DEFAULT 0, -- lease generation: fences checkpoint writes",
    "  lease_expires_at INTEGER NOT NULL DEFAULT 0, -- milliseconds since 1970 (the process clock)",
    "  query TEXT, -- JSON of the consumer's query, for retention",
    "  last_seen INTEGER -- milliseconds since 1970 of the last lease taken or renewed or checkpoint written",
    ");",
    `CREATE TABLE IF NOT EXISTS ${deadLetters} (`,
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,",
    "  name TEXT NOT NULL,",
    "  event_id TEXT NOT NULL,",
    "  error TEXT NOT NULL,",
    "  failed_at TEXT NOT NULL",
    ");",
    `CREATE INDEX IF NOT EXISTS ${deadLettersIndex} ON ${deadLetters} (name, seq);`,
    "",
  ].join("\n");
}

interface ConsumerRow {
  readonly position: string | null;
  readonly owner: string | null;
  readonly generation: number;
  readonly lease_expires_at: number;
}

/**
 * Checkpoints and leases in the same SQLite file as the events. Every step is one `BEGIN IMMEDIATE` transaction,
 * so processes sharing the file see one order. Lease expiry uses the process clock (`Date.now()`): every process
 * sharing a SQLite file runs on the same machine, hence the same clock. A checkpoint write commits without waiting
 * for a disk flush (`commitUnflushed`); leases keep the connection's own `synchronous` level, so releasing one at
 * stop also flushes the last checkpoint.
 */
export function sqliteCheckpoints(
  database: SqliteDatabase,
  statements: StatementCache,
  table: string,
  use: <T>(operation: string, work: () => T) => T,
  createSchema: boolean,
): CheckpointStore {
  const names = checkpointTables(table);
  let ready = !createSchema;
  const run = <T>(operation: string, work: () => T): T =>
    use(operation, () => {
      if (!ready) {
        inWriteTransaction(database, () => {
          database.exec(sqliteCheckpointSchemaSql({ table }));
          addRetentionColumns(database, names.consumers);
        });
        ready = true;
      }
      return work();
    });
  const select = (name: string) =>
    statements
      .get(`SELECT position, owner, generation, lease_expires_at FROM ${names.consumers} WHERE name = ?`)
      .get(name) as ConsumerRow | undefined;
  const isCurrent = (row: ConsumerRow | undefined, lease: ConsumerLease) =>
    row !== undefined && row.owner === lease.owner && Number(row.generation) === lease.generation;

  return {
    async acquireLease(name, owner, leaseMs, query?: ConsumerQuery) {
      return run("acquireLease", () =>
        inWriteTransaction(database, () => {
          const now = Date.now();
          const row = select(name);
          const held = row?.owner != null && Number(row.lease_expires_at) > now;
          if (held && row?.owner !== owner) return null;
          const generation = held ? Number(row?.generation) : Number(row?.generation ?? 0) + 1;
          database
            .prepare(
              `INSERT INTO ${names.consumers} (name, owner, generation, lease_expires_at, last_seen, query) ` +
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, " +
                "generation = excluded.generation, lease_expires_at = excluded.lease_expires_at, " +
                "last_seen = excluded.last_seen, query = coalesce(excluded.query, query)",
            )
            .run(name, owner, generation, now + leaseMs, now, query === undefined ? null : JSON.stringify(query));
          return { name, owner, generation };
        }),
      );
    },
    async renewLease(lease, leaseMs) {
      return run("renewLease", () => {
        const sql =
          `UPDATE ${names.consumers} SET lease_expires_at = ?, last_seen = ? ` +
          "WHERE name = ? AND owner = ? AND generation = ?";
        const now = Date.now();
        const result = statements.get(sql).run(now + leaseMs, now, lease.name, lease.owner, lease.generation);
        return Number(result.changes) === 1;
      });
    },
    async releaseLease(lease) {
      run("releaseLease", () => {
        const sql = `UPDATE ${names.consumers} SET lease_expires_at = 0 WHERE name = ? AND owner = ? AND generation = ?`;
        statements.get(sql).run(lease.name, lease.owner, lease.generation);
      });
    },
    async readCheckpoint(name) {
      return run("readCheckpoint", () => select(name)?.position ?? null);
    },
    async writeCheckpoint(lease, write) {
      return run("writeCheckpoint", () =>
        commitUnflushed(statements, () =>
          inWriteTransaction(database, () => {
            const row = select(lease.name);
            if (!isCurrent(row, lease) || (row?.position ?? null) !== write.expected) return false;
            statements
              .get(`UPDATE ${names.consumers} SET position = ?, last_seen = ? WHERE name = ?`)
              .run(write.position, Date.now(), lease.name);
            insertDeadLetters(statements, names.deadLetters, lease.name, write);
            return true;
          }),
        ),
      );
    },
    async deadLetters(name) {
      return run("deadLetters", () =>
        database
          .prepare(`SELECT event_id, error, failed_at FROM ${names.deadLetters} WHERE name = ? ORDER BY seq`)
          .all(name)
          .map((row) => {
            const { event_id, error, failed_at } = row as DeadLetter;
            return Object.freeze({ event_id, error, failed_at });
          }),
      );
    },
    async listConsumers() {
      return run("listConsumers", () =>
        database
          .prepare(`SELECT name, position, query, last_seen FROM ${names.consumers} ORDER BY name`)
          .all()
          .map((row) => {
            const { name, position, query, last_seen } = row as ConsumerListRow;
            return {
              name,
              position,
              query: query === null ? null : (JSON.parse(query) as ConsumerQuery),
              last_seen: last_seen === null ? null : new Date(Number(last_seen)).toISOString(),
            };
          }),
      );
    },
  };
}

interface ConsumerListRow {
  readonly name: string;
  readonly position: string | null;
  readonly query: string | null;
  readonly last_seen: number | bigint | null;
}

/** Adds the retention columns to a consumers table created before they existed (SQLite has no ADD COLUMN IF NOT EXISTS). */
function addRetentionColumns(database: SqliteDatabase, consumers: string): void {
  const columns = new Set(
    database
      .prepare(`PRAGMA table_info(${consumers})`)
      .all()
      .map((row) => (row as { name: string }).name),
  );
  if (!columns.has("query")) database.exec(`ALTER TABLE ${consumers} ADD COLUMN query TEXT`);
  if (!columns.has("last_seen")) database.exec(`ALTER TABLE ${consumers} ADD COLUMN last_seen INTEGER`);
}

function insertDeadLetters(statements: StatementCache, table: string, name: string, write: CheckpointWrite): void {
  const letters = write.deadLetters ?? [];
  if (letters.length === 0) return;
  const insert = statements.get(`INSERT INTO ${table} (name, event_id, error, failed_at) VALUES (?, ?, ?, ?)`);
  const failedAt = new Date().toISOString();
  for (const letter of letters) insert.run(name, letter.event_id, letter.error, failedAt);
}

function checkpointTables(table: string) {
  return {
    consumers: quoteIdentifier(`${table}_consumers`),
    deadLetters: quoteIdentifier(`${table}_dead_letters`),
    deadLettersIndex: quoteIdentifier(`${table}_dead_letters_name`),
  };
}
