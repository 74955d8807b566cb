import { eventSourceSql, INSERTED_COLUMNS, type RowCount } from "./postgres-columns.js";

/** What a stamped append's statement answers. */
export interface StampedRow {
  /** The ids it stored, in insertion order (an id stored before is skipped, as with the plain INSERT). */
  readonly ids: string[] | null;
  /** The highest position it gave (the backlog's or the new rows'), or null when it gave none. */
  readonly top: string | null;
  /**
   * How many rows of the backlog (committed, unnumbered) it numbered first; with the guarded form, 0 when there
   * was none, or -1 when there was one and it stored its rows unnumbered instead (the next step numbers them all).
   */
  readonly backlog: number;
  readonly xid: string;
  readonly snapshot: string;
}

/**
 * The common-table expressions that number the oldest unnumbered rows: `next` (at most `$2` of them, in `seq` order,
 * committed ones only), `numbered` (their positions after `$1`) and `done` (the UPDATE, returning each position).
 */
export function backlogNumberingSql(table: string): string {
  return (
    `next AS (SELECT seq FROM ${table} WHERE position IS NULL ORDER BY seq LIMIT $2), ` +
    "numbered AS (SELECT seq, $1::bigint + row_number() OVER (ORDER BY seq) AS position FROM next), " +
    `done AS (UPDATE ${table} AS t SET position = numbered.position FROM numbered WHERE t.seq = numbered.seq ` +
    "RETURNING numbered.position)"
  );
}

/**
 * The leader's own append, in one statement and one commit: first the backlog (committed rows still unnumbered,
 * oldest first, at most `$2`), numbered after `$1` as a numbering step would, then the new events (from `$4` on; see
 * `eventSourceSql`) inserted with the positions that follow, so they are readable the moment the statement commits.
 * Only the session that holds the sequencer's lock runs it, one statement at a time with the numbering steps, so no
 * other transaction gives positions meanwhile, and rows committed before it keep their place ahead of the new ones.
 *
 * All data-modifying parts see the same snapshot: the UPDATE cannot see the rows being inserted, and the base of the
 * new positions counts exactly the backlog rows this statement numbers. It sends a NOTIFY (on `$3`, with its snapshot)
 * only when it numbered a backlog, whose writers in other processes wait for that announcement; a NOTIFY takes
 * PostgreSQL's notify lock at commit, so its own rows alone are announced after the commit instead, coalesced.
 */
export function stampedAppendSql(table: string, count: RowCount): string {
  return (
    `WITH ${backlogNumberingSql(table)}, ` +
    "base AS (SELECT $1::bigint + count(*) AS base, count(*)::int AS backlog FROM numbered), " +
    `added AS (INSERT INTO ${table} (${INSERTED_COLUMNS}, position) ` +
    `${eventSourceSql(4, count, (ordinal) => `(SELECT base FROM base) + ${ordinal}`)} ` +
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id, position), " +
    "summary AS (SELECT (SELECT array_agg(event_id::text ORDER BY position) FROM added) AS ids, " +
    "greatest((SELECT max(position) FROM added), (SELECT max(position) FROM done))::text AS top, " +
    "(SELECT backlog FROM base) AS backlog, pg_current_xact_id()::text AS xid, " +
    "pg_current_snapshot()::text AS snapshot) " +
    // Only when it numbered others' rows: their writers may be waiting for this very snapshot.
    "SELECT ids, top, backlog, xid, snapshot, CASE WHEN backlog > 0 THEN " +
    "pg_notify($3, CASE WHEN backlog < $2 AND length(snapshot) < 7000 THEN snapshot ELSE '' END) END AS notified " +
    "FROM summary"
  );
}

/** One row of {@link guardedAppendSql}'s answer: an event it stored. */
export interface GuardedRow {
  readonly event_id: string;
  /** Its position, or null when a backlog was in sight and it went in unnumbered. */
  readonly position: string | null;
  readonly xid: string;
  readonly snapshot: string;
}

/**
 * The leader's own append when it expects no backlog: no UPDATE (whose mere presence costs about as much as a
 * third of a one-row INSERT), only a look at the `unpositioned` index. With no committed unnumbered row in sight
 * the events get the positions after `$1`, as `stampedAppendSql` would give them; with one, they are stored
 * without positions, and the next numbering step numbers the backlog and then them, in `seq` order, so rows
 * committed before still come first. The event rows start at `$2`, as arrays or, for one event, plain parameters
 * (`count`, see `eventSourceSql`).
 *
 * It answers one row per stored event, in insertion order (see {@link readGuarded}): a summary row built by a
 * common-table expression around the INSERT (an aggregate, a sort) cost about 30 µs more a statement, 7% of a
 * one-row append.
 */
export function guardedAppendSql(table: string, count: RowCount): string {
  const position = (ordinal: string) =>
    `CASE WHEN EXISTS (SELECT 1 FROM ${table} WHERE position IS NULL) THEN NULL ELSE $1::bigint + ${ordinal} END`;
  return (
    `INSERT INTO ${table} (${INSERTED_COLUMNS}, position) ${eventSourceSql(2, count, position)} ` +
    "ON CONFLICT (event_id) DO NOTHING " +
    "RETURNING event_id::text AS event_id, position::text AS position, pg_current_xact_id()::text AS xid, " +
    "pg_current_snapshot()::text AS snapshot"
  );
}

/**
 * {@link guardedAppendSql}'s rows as a {@link StampedRow}: every row was numbered or none was (one look at the
 * backlog decides for the statement); the last row holds the highest position, since rows are inserted, and so
 * returned, in the order of the positions they are given. No row: every id was taken before, nothing to announce.
 */
export function readGuarded(rows: readonly GuardedRow[]): StampedRow | undefined {
  const last = rows.at(-1);
  if (last === undefined) return undefined;
  return {
    ids: rows.map((row) => row.event_id),
    top: last.position,
    backlog: last.position === null ? -1 : 0,
    xid: last.xid,
    snapshot: last.snapshot,
  };
}
