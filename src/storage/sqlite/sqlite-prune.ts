import { EventGapError } from "../../errors/error-classes.js";
import { type ResolvedPrune, yieldToAppends } from "../kit/prune-options.js";
import { inWriteTransaction, type SqliteDatabase, type StatementCache } from "./sqlite-driver.js";
import { quoteIdentifier } from "./sqlite-schema.js";

/** The side table that remembers pruned ids (and their old `seq`), so a cursor naming one answers a gap. */
export function prunedTableName(table: string): string {
  return `${table}_pruned`;
}

/**
 * Deletes matching events a batch at a time, each batch one short write transaction (`BEGIN IMMEDIATE`) that also
 * records the deleted ids, with a turn of the event loop between batches so this connection's appends run and other
 * processes' appends wait at most one batch on the lock. Walks each type's `(event_type, seq)` index oldest first.
 * A dry run counts instead.
 */
export async function pruneEvents(
  database: SqliteDatabase,
  statements: StatementCache,
  table: string,
  settings: ResolvedPrune,
): Promise<number> {
  const events = quoteIdentifier(table);
  if (settings.dryRun) return countDoomed(statements, events, settings);
  const pruned = quoteIdentifier(prunedTableName(table));
  const selectSql = `SELECT seq, event_id FROM ${events} WHERE event_type = ? AND +"timestamp" < ? ORDER BY seq LIMIT ?`;
  const rememberSql = `INSERT OR REPLACE INTO ${pruned} (event_id, seq) VALUES (?, ?)`;
  const deleteSql = `DELETE FROM ${events} WHERE seq = ?`;
  let deleted = 0;
  for (const type of settings.types) {
    for (;;) {
      const count = inWriteTransaction(database, () => {
        const rows = statements.get(selectSql).all(type, settings.before, settings.batchSize) as {
          seq: number | bigint;
          event_id: string;
        }[];
        const remember = statements.get(rememberSql);
        const remove = statements.get(deleteSql);
        for (const row of rows) {
          remember.run(row.event_id, row.seq);
          remove.run(row.seq);
        }
        return rows.length;
      });
      deleted += count;
      if (count > 0) settings.onBatch?.(deleted);
      await yieldToAppends();
      if (count < settings.batchSize) break;
    }
  }
  return deleted;
}

/** What a prune with these settings would delete, counted through the same `(event_type, seq)` index. */
function countDoomed(statements: StatementCache, events: string, settings: ResolvedPrune): number {
  const count = statements.get(`SELECT count(*) AS n FROM ${events} WHERE event_type = ? AND +"timestamp" < ?`);
  let total = 0;
  for (const type of settings.types) total += Number((count.get(type, settings.before) as { n: number | bigint }).n);
  return total;
}

/**
 * For a cursor that names no stored event: the gap error when the id was pruned (and the side table exists, which a
 * table migrated by hand from before retention may lack), otherwise `undefined`.
 */
export function gapFor(
  statements: StatementCache,
  table: string,
  cursor: "after" | "before",
  eventId: string,
): EventGapError | undefined {
  const pruned = prunedTableName(table);
  const exists = statements.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(pruned);
  if (exists === undefined) return undefined;
  const found = statements.get(`SELECT 1 FROM ${quoteIdentifier(pruned)} WHERE event_id = ?`).get(eventId);
  if (found === undefined) return undefined;
  const oldest = statements
    .get(`SELECT event_id, "timestamp" FROM ${quoteIdentifier(table)} ORDER BY seq LIMIT 1`)
    .get() as { event_id: string; timestamp: string } | undefined;
  return new EventGapError(cursor, eventId, oldest ?? null);
}
