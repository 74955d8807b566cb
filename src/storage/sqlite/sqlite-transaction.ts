import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import type { AppendOutcome, TransactionalAppend } from "../types.js";
import type { SqliteEventAppender } from "./sqlite-append.js";
import type { SqliteDatabase } from "./sqlite-driver.js";
import type { SqliteEventReader } from "./sqlite-list.js";

/** How often the end of the caller's transaction is looked for (SQLite has no commit hook these drivers expose). */
const COMMIT_POLL_MS = 5;

/**
 * Appends inside the transaction the caller has open on the storage's own connection, synchronously (so it also
 * works from better-sqlite3's `db.transaction(fn)`), and reports when that transaction ended: committed when the
 * last new event is still there once the connection has left its transaction, rolled back otherwise.
 */
export function appendInSqliteTransaction(
  database: SqliteDatabase,
  appender: SqliteEventAppender,
  reader: SqliteEventReader,
  batch: readonly Event[],
  transaction: unknown,
  onCommitted: () => void,
): TransactionalAppend {
  if (transaction !== database) {
    throw EventValidationError.forField(
      "transaction",
      "must be the SQLite database this storage was opened with, inside a transaction (BEGIN ... COMMIT)",
    );
  }
  if (!inTransaction(database)) {
    throw EventValidationError.forField(
      "transaction",
      "the database is not inside a transaction: run BEGIN first (or emit inside db.transaction(...))",
    );
  }
  const outcomes: readonly AppendOutcome[] = appender.insertAll(batch);
  const lastNew = [...batch].reverse().find((_, index) => outcomes[batch.length - 1 - index] === null);
  if (lastNew === undefined) return { outcomes, committed: Promise.resolve(true) };
  const committed = new Promise<boolean>((resolve) => {
    const timer = setInterval(() => {
      let ended: boolean;
      let kept = false;
      try {
        ended = !inTransaction(database);
        if (ended) kept = reader.get(lastNew.event_id) !== null;
      } catch {
        ended = true; // a closed database: nobody can read the events now
      }
      if (!ended) return;
      clearInterval(timer);
      if (kept) onCommitted();
      resolve(kept);
    }, COMMIT_POLL_MS);
    timer.unref();
  });
  return { outcomes, committed };
}

/** better-sqlite3 says `inTransaction`, node:sqlite `isTransaction`. */
function inTransaction(database: SqliteDatabase): boolean {
  const flags = database as { inTransaction?: unknown; isTransaction?: unknown };
  return flags.inTransaction === true || flags.isTransaction === true;
}
