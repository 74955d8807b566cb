import type { DigestRecord, DigestStore } from "../types.js";
import { inWriteTransaction, type SqliteDatabase } from "./sqlite-driver.js";
import { checkTableName, quoteIdentifier } from "./sqlite-schema.js";

/**
 * The SQL that creates the audit-record table beside an events table (`{table}_audit`: one row per record, keyed by
 * log name and key), for teams that run their own migrations. Idempotent.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { sqliteDigestSchemaSql } from "ad-seller-events/sqlite";
 *
 * writeFileSync("migrations/0003_audit.sql", sqliteDigestSchemaSql({ table: "seller_events" }));
 * ```
 */
export function sqliteDigestSchemaSql(options: { readonly table?: string | undefined } = {}): string {
  const table = digestTable(checkTableName(options.table));
  return `CREATE TABLE IF NOT EXISTS ${table} (log TEXT NOT NULL, key INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (log, key)) WITHOUT ROWID;\n`;
}

/** Audit records in the same SQLite file as the events; an append is one `BEGIN IMMEDIATE` transaction. */
export function sqliteDigests(
  database: SqliteDatabase,
  table: string,
  use: <T>(operation: string, work: () => T) => T,
  createSchema: boolean,
): DigestStore {
  const name = digestTable(table);
  let ready = !createSchema;
  const run = <T>(operation: string, work: () => T): T =>
    use(operation, () => {
      if (!ready) {
        inWriteTransaction(database, () => database.exec(sqliteDigestSchemaSql({ table })));
        ready = true;
      }
      return work();
    });

  return {
    async append(log, records) {
      return run("digests.append", () => {
        try {
          inWriteTransaction(database, () => {
            const insert = database.prepare(`INSERT OR IGNORE INTO ${name} (log, key, value) VALUES (?, ?, ?)`);
            // A taken key rolls the whole batch back: the append is all or nothing.
            for (const { key, value } of records) if (Number(insert.run(log, key, value).changes) !== 1) throw TAKEN;
          });
          return true;
        } catch (error) {
          if (error === TAKEN) return false;
          throw error;
        }
      });
    },
    async range(log, afterKey, limit) {
      return run("digests.range", () =>
        database
          .prepare(`SELECT key, value FROM ${name} WHERE log = ? AND key > ? ORDER BY key LIMIT ?`)
          .all(log, afterKey, limit)
          .map(toRecord),
      );
    },
    async last(log) {
      return run("digests.last", () => {
        const row = database.prepare(`SELECT key, value FROM ${name} WHERE log = ? ORDER BY key DESC LIMIT 1`).get(log);
        return row === undefined ? null : toRecord(row);
      });
    },
  };
}

const TAKEN = Symbol("key taken");

function digestTable(table: string): string {
  return quoteIdentifier(`${table}_audit`);
}

function toRecord(row: unknown): DigestRecord {
  const { key, value } = row as { key: number | bigint; value: string };
  return Object.freeze({ key: Number(key), value });
}
