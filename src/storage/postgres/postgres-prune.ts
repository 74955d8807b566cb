import type { Pool } from "pg";
import { EventGapError } from "../../errors/error-classes.js";
import { type ResolvedPrune, yieldToAppends } from "../kit/prune-options.js";
import type { Queryable } from "./postgres-insert.js";

/** The pruned-ids table beside a quoted, schema-qualified events table (`"s"."t"` -> `"s"."t_pruned"`). */
export function prunedTableOf(qualifiedTable: string): string {
  return `${qualifiedTable.slice(0, -1)}_pruned"`;
}

/**
 * Deletes matching events a batch at a time. Each batch is one statement (its own short transaction) that deletes
 * up to `batchSize` of the oldest events of one type before `before` through the `(event_type, position)` index and
 * records their ids in the pruned table. Row locks only, on numbered rows: appends and the sequencer run alongside, and
 * `SKIP LOCKED` lets two pruners share the work instead of queueing on each other. A dry run counts instead.
 */
export async function pruneEvents(pool: Pool, table: string, settings: ResolvedPrune): Promise<number> {
  if (settings.dryRun) return countDoomed(pool, table, settings);
  const sql =
    `WITH doomed AS (SELECT seq FROM ${table} WHERE event_type = $1 AND "timestamp" < $2 AND position IS NOT NULL ` +
    "ORDER BY position LIMIT $3 FOR UPDATE SKIP LOCKED), " +
    `gone AS (DELETE FROM ${table} WHERE seq IN (SELECT seq FROM doomed) RETURNING event_id, position), ` +
    // The pruned table's `seq` column holds the deleted row's position.
    `remembered AS (INSERT INTO ${prunedTableOf(table)} (event_id, seq) SELECT event_id, position FROM gone ` +
    "ON CONFLICT (event_id) DO UPDATE SET seq = EXCLUDED.seq) " +
    "SELECT count(*)::int AS n FROM gone";
  let deleted = 0;
  for (const type of settings.types) {
    for (;;) {
      const result = await pool.query<{ n: number }>(sql, [type, settings.before, settings.batchSize]);
      const count = result.rows[0]?.n ?? 0;
      deleted += count;
      if (count > 0) settings.onBatch?.(deleted);
      if (count < settings.batchSize) break;
      await yieldToAppends();
    }
  }
  return deleted;
}

/** What a prune with these settings would delete (numbered rows only, as the prune takes), in one statement. */
async function countDoomed(pool: Pool, table: string, settings: ResolvedPrune): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE event_type = ANY($1::text[]) AND "timestamp" < $2 ` +
      "AND position IS NOT NULL",
    [settings.types, settings.before],
  );
  return result.rows[0]?.n ?? 0;
}

/** For a cursor that names no stored event: the gap error when retention deleted it, otherwise `undefined`. */
export async function gapFor(
  db: Queryable,
  table: string,
  cursor: "after" | "before",
  eventId: string,
): Promise<EventGapError | undefined> {
  const pruned = prunedTableOf(table);
  // A table migrated by hand from before retention has no pruned table: nothing was pruned, then.
  const exists = await db.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [pruned]);
  if (exists.rows[0]?.present !== true) return undefined;
  const result = await db.query<{ pruned: boolean; event_id: string | null; timestamp: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM ${pruned} WHERE event_id = $1::uuid) AS pruned, oldest.event_id, oldest."timestamp" ` +
      `FROM (VALUES (1)) AS one LEFT JOIN LATERAL (SELECT event_id::text AS event_id, "timestamp" FROM ${table} ` +
      "WHERE position IS NOT NULL ORDER BY position LIMIT 1) AS oldest ON true",
    [eventId],
  );
  const row = result.rows[0];
  if (row?.pruned !== true) return undefined;
  const oldest =
    row.event_id === null || row.timestamp === null ? null : { event_id: row.event_id, timestamp: row.timestamp };
  return new EventGapError(cursor, eventId, oldest);
}
