import type { Pool } from "pg";
import type { CheckpointStore, ConsumerLease, ConsumerQuery, ConsumerRecord, DeadLetter } from "../types.js";
import { statementName } from "./postgres-insert.js";
import { type PostgresTableName, resolvePostgresNames } from "./postgres-schema.js";

/**
 * Makes the statement's own transaction commit without waiting for the WAL flush (`is_local`: the session's setting
 * is back at the commit). A client crash loses nothing either way; a server crash can lose the last few hundred
 * milliseconds of such commits (`wal_writer_delay`), which for a checkpoint means a batch or two handed again. The
 * next synchronous commit (a lease renewal or release, an append) flushes it with its own: WAL is flushed in order.
 */
const UNFLUSHED_COMMIT = "set_config('synchronous_commit', 'off', true) AS commit_mode";

const SETUP_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('ad-seller-events:schema-setup', 0));";

/**
 * The SQL that creates the consumer tables beside an events table: `{table}_consumers` (one row per consumer name:
 * position, lease owner, generation and expiry) and `{table}_dead_letters`. For teams that run their own
 * migrations (with `createSchema: false`); every statement is idempotent.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { postgresCheckpointSchemaSql } from "ad-seller-events/postgres";
 *
 * writeFileSync("migrations/0008_consumers.sql", postgresCheckpointSchemaSql({ schema: "seller", table: "events" }));
 * ```
 */
export function postgresCheckpointSchemaSql(name: PostgresTableName = {}): string {
  const tables = checkpointTables(name);
  return `${[
    [
      `CREATE TABLE IF NOT EXISTS ${tables.consumers} (`,
      "  name text NOT NULL,",
      "  position text,",
      "  owner text,",
      "  generation bigint NOT NULL DEFAULT 0,",
      "  lease_expires_at timestamptz NOT NULL DEFAULT '-infinity',",
      "  query text,",
      "  last_seen timestamptz,",
      `  CONSTRAINT ${tables.consumersKey} PRIMARY KEY (name)`,
      ");",
      // Tables created before retention held back for consumers.
      `ALTER TABLE ${tables.consumers} ADD COLUMN IF NOT EXISTS query text, ADD COLUMN IF NOT EXISTS last_seen timestamptz;`,
    ].join("\n"),
    [
      `CREATE TABLE IF NOT EXISTS ${tables.deadLetters} (`,
      "  name text NOT NULL,",
      "  seq bigint GENERATED ALWAYS AS IDENTITY,",
      "  event_id text NOT NULL,",
      "  error text NOT NULL,",
      "  failed_at timestamptz NOT NULL DEFAULT now(),",
      `  CONSTRAINT ${tables.deadLettersKey} PRIMARY KEY (name, seq)`,
      ");",
    ].join("\n"),
  ].join("\n\n")}\n`;
}

/**
 * Checkpoints and leases in PostgreSQL. Lease expiry is computed and compared with the server's `now()`, never a
 * client clock, so instances on machines with skewed clocks agree on it. Each operation is one statement (atomic
 * on its row); the checkpoint write moves the position and inserts its dead letters in one statement, committed
 * without waiting for the WAL flush (see `UNFLUSHED_COMMIT`); the lease statements wait for it as usual.
 */
export function postgresCheckpoints(
  pool: Pool,
  name: PostgresTableName,
  createSchema: boolean,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): CheckpointStore {
  const { consumers, deadLetters } = checkpointTables(name);
  let ready: Promise<void> | undefined = createSchema ? undefined : Promise.resolve();
  const ensure = () => {
    ready ??= createTables(pool, name).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  const call = <T>(operation: string, work: () => Promise<T>) =>
    run(operation, async () => {
      await ensure();
      return work();
    });
  const fenced = "name = $1 AND owner = $2 AND generation = $3";
  const writeStatement = statementName("checkpoint", consumers);
  const leaseParams = (lease: ConsumerLease) => [lease.name, lease.owner, lease.generation];

  return {
    acquireLease: (consumer, owner, leaseMs, query?: ConsumerQuery) =>
      call("acquireLease", async () => {
        const result = await pool.query<{ generation: string }>(
          `INSERT INTO ${consumers} AS c (name, owner, generation, lease_expires_at, last_seen, query)
           VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond', now(), $4)
           ON CONFLICT (name) DO UPDATE SET
             generation = CASE WHEN c.owner = EXCLUDED.owner AND c.lease_expires_at > now()
                               THEN c.generation ELSE c.generation + 1 END,
             owner = EXCLUDED.owner,
             lease_expires_at = EXCLUDED.lease_expires_at,
             last_seen = EXCLUDED.last_seen,
             query = coalesce(EXCLUDED.query, c.query)
           WHERE c.owner IS NULL OR c.owner = EXCLUDED.owner OR c.lease_expires_at <= now()
           RETURNING generation`,
          [consumer, owner, leaseMs, query === undefined ? null : JSON.stringify(query)],
        );
        const row = result.rows[0];
        return row === undefined ? null : { name: consumer, owner, generation: Number(row.generation) };
      }),
    renewLease: (lease, leaseMs) =>
      call("renewLease", async () => {
        const result = await pool.query(
          `UPDATE ${consumers} SET lease_expires_at = now() + $4 * interval '1 millisecond', last_seen = now() ` +
            `WHERE ${fenced}`,
          [...leaseParams(lease), leaseMs],
        );
        return result.rowCount === 1;
      }),
    releaseLease: (lease) =>
      call("releaseLease", async () => {
        await pool.query(`UPDATE ${consumers} SET lease_expires_at = now() WHERE ${fenced}`, leaseParams(lease));
      }),
    readCheckpoint: (consumer) =>
      call("readCheckpoint", async () => {
        const result = await pool.query<{ position: string | null }>(
          `SELECT position FROM ${consumers} WHERE name = $1`,
          [consumer],
        );
        return result.rows[0]?.position ?? null;
      }),
    writeCheckpoint: (lease, write) =>
      call("writeCheckpoint", async () => {
        const letters = write.deadLetters ?? [];
        const result = await pool.query<{ moved: number }>({
          // Named: prepared once per connection, since a consumer sends it once per batch.
          name: writeStatement,
          text: `WITH moved AS (
             UPDATE ${consumers} SET position = $4, last_seen = now()
             WHERE ${fenced} AND position IS NOT DISTINCT FROM $5 RETURNING name
           ), letters AS (
             INSERT INTO ${deadLetters} (name, event_id, error)
             SELECT moved.name, d.event_id, d.error FROM moved CROSS JOIN unnest($6::text[], $7::text[]) AS d(event_id, error)
             RETURNING 1
           )
           SELECT (SELECT count(*)::int FROM moved) AS moved, ${UNFLUSHED_COMMIT}`,
          values: [
            ...leaseParams(lease),
            write.position,
            write.expected,
            letters.map((letter) => letter.event_id),
            letters.map((letter) => letter.error),
          ],
        });
        return result.rows[0]?.moved === 1;
      }),
    deadLetters: (consumer) =>
      call("deadLetters", async () => {
        const result = await pool.query<{ event_id: string; error: string; failed_at: Date }>(
          `SELECT event_id, error, failed_at FROM ${deadLetters} WHERE name = $1 ORDER BY seq`,
          [consumer],
        );
        return result.rows.map(
          (row): DeadLetter =>
            Object.freeze({ event_id: row.event_id, error: row.error, failed_at: row.failed_at.toISOString() }),
        );
      }),
    listConsumers: () =>
      call("listConsumers", async () => {
        const result = await pool.query<{
          name: string;
          position: string | null;
          query: string | null;
          last_seen: Date | null;
        }>(`SELECT name, position, query, last_seen FROM ${consumers} ORDER BY name`);
        return result.rows.map(
          (row): ConsumerRecord => ({
            name: row.name,
            position: row.position,
            query: row.query === null ? null : (JSON.parse(row.query) as ConsumerQuery),
            last_seen: row.last_seen?.toISOString() ?? null,
          }),
        );
      }),
  };
}

/** Creates the tables under the same advisory lock as the events schema (concurrent CREATEs can collide). */
async function createTables(pool: Pool, name: PostgresTableName): Promise<void> {
  const { consumers, deadLetters } = checkpointTables(name);
  const present = await pool.query<{ complete: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute " +
      "WHERE attrelid = to_regclass($1) AND attname = 'last_seen' AND NOT attisdropped) AS complete",
    [consumers, deadLetters],
  );
  if (present.rows[0]?.complete === true) return;
  await pool.query(`${SETUP_LOCK_SQL}\n${postgresCheckpointSchemaSql(name)}`);
}

function checkpointTables(name: PostgresTableName) {
  const { schema, table } = resolvePostgresNames(name);
  const qualify = (relation: string) => `"${schema}"."${relation}"`;
  return {
    consumers: qualify(`${table}_consumers`),
    deadLetters: qualify(`${table}_dead_letters`),
    // Table names run to 47 characters: constraint names stay within PostgreSQL's 63.
    consumersKey: `"${table}_consumers_pkey"`,
    deadLettersKey: `"${table}_dead_pkey"`,
  };
}
