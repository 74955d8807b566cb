import type { Pool } from "pg";
import type { DigestRecord, DigestStore } from "../types.js";
import { type PostgresTableName, resolvePostgresNames } from "./postgres-schema.js";

/**
 * The SQL that creates the audit-record table beside an events table: `{table}_audit`, one row per record, keyed by
 * log name and key. For teams that run their own migrations (with `createSchema: false`); idempotent.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { postgresDigestSchemaSql } from "ad-seller-events/postgres";
 *
 * writeFileSync("migrations/0009_audit.sql", postgresDigestSchemaSql({ schema: "seller", table: "events" }));
 * ```
 */
export function postgresDigestSchemaSql(name: PostgresTableName = {}): string {
  const { relation, key } = digestTable(name);
  return [
    `CREATE TABLE IF NOT EXISTS ${relation} (`,
    "  log text NOT NULL,",
    "  key bigint NOT NULL,",
    "  value text NOT NULL,",
    `  CONSTRAINT ${key} PRIMARY KEY (log, key)`,
    ");",
    "",
  ].join("\n");
}

/**
 * Audit records in PostgreSQL. An append is one INSERT statement: a taken key fails it whole (unique violation),
 * which is the all-or-nothing answer `false`, also when two writers race.
 */
export function postgresDigests(
  pool: Pool,
  name: PostgresTableName,
  createSchema: boolean,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): DigestStore {
  const { relation } = digestTable(name);
  let setup: Promise<unknown> | undefined;
  const prepared = async (): Promise<void> => {
    if (!createSchema) return;
    // Schema setup from several processes at once: the lock the other setup statements take serialises them.
    setup ??= pool
      .query(`SELECT pg_advisory_xact_lock(hashtextextended('ad-seller-events:schema-setup', 0));
${postgresDigestSchemaSql(name)}`)
      .catch((error: unknown) => {
        setup = undefined;
        throw error;
      });
    await setup;
  };
  const select = `SELECT key, value FROM ${relation} WHERE log = $1`;

  return {
    append: (log, records) =>
      run("digests.append", async () => {
        await prepared();
        try {
          await pool.query(
            `INSERT INTO ${relation} (log, key, value) SELECT $1, key, value FROM unnest($2::bigint[], $3::text[]) AS b(key, value)`,
            [log, records.map((record) => record.key), records.map((record) => record.value)],
          );
          return true;
        } catch (error) {
          if ((error as { code?: unknown }).code === "23505") return false;
          throw error;
        }
      }),
    range: (log, afterKey, limit) =>
      run("digests.range", async () => {
        await prepared();
        const result = await pool.query(`${select} AND key > $2 ORDER BY key LIMIT $3`, [log, afterKey, limit]);
        return result.rows.map(toRecord);
      }),
    last: (log) =>
      run("digests.last", async () => {
        await prepared();
        const result = await pool.query(`${select} ORDER BY key DESC LIMIT 1`, [log]);
        return result.rows.length === 0 ? null : toRecord(result.rows[0]);
      }),
  };
}

function digestTable(name: PostgresTableName): { readonly relation: string; readonly key: string } {
  const { schema, table } = resolvePostgresNames(name);
  return { relation: `"${schema}"."${table}_audit"`, key: `"${table}_audit_pkey"` };
}

function toRecord(row: { key: string | number; value: string }): DigestRecord {
  return Object.freeze({ key: Number(row.key), value: row.value });
}
