import type { StatementCache } from "./sqlite-driver.js";

/** `PRAGMA synchronous` levels: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
const NORMAL = 1;

/**
 * Runs `work` (a whole write transaction) with `PRAGMA synchronous = NORMAL` on a connection in WAL mode, then puts
 * the connection's own level back. Its commit then goes to the log without waiting for a disk flush: a process crash
 * loses nothing (the log is in the OS's hands); only an OS crash or power cut can roll it back, and the next commit
 * at the connection's own level (an append, a lease renewal or release) flushes it with its own. Consumer
 * checkpoints use it: written once per batch, and safe to lose to an OS crash (their events are handed again).
 *
 * Outside WAL mode the level stays: with a rollback journal, NORMAL risks a corrupt file on a power cut, not only a
 * lost commit. The drivers are synchronous, so no other statement on this connection runs under the lowered level.
 */
export function commitUnflushed<T>(statements: StatementCache, work: () => T): T {
  const level = Number(firstValue(statements, "PRAGMA synchronous"));
  if (!(level > NORMAL) || firstValue(statements, "PRAGMA journal_mode") !== "wal") return work();
  statements.get(`PRAGMA synchronous = ${NORMAL}`).run();
  try {
    return work();
  } finally {
    statements.get(`PRAGMA synchronous = ${level}`).run();
  }
}

function firstValue(statements: StatementCache, sql: string): unknown {
  const row = statements.get(sql).get() as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
}
