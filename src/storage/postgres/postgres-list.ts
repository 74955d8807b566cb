import type { Event } from "../../event.js";
import { CORRELATION_FIELDS } from "../../event.js";
import { isUuid, unknownCursorError } from "../../query.js";
import type { NormalizedEventQuery } from "../types.js";
import type { Queryable } from "./postgres-insert.js";
import { EVENT_COLUMNS, type EventRow, rowToEvent } from "./postgres-rows.js";

/** A position in the append order: the writing transaction's id, then the identity sequence. */
interface Position {
  readonly xid: string;
  readonly seq: string;
}

/** Where reading starts: the visibility boundary, the newest committed row, and the cursor's position. */
interface ReadStart {
  boundary: bigint;
  readonly newest: bigint | null;
  readonly cursor: Position | null;
}

const BOUNDARY_SQL = "pg_snapshot_xmin(pg_current_snapshot())::text";
const MAX_POLL_DELAY_MS = 25;
const OUTER_COLUMNS =
  'event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload, metadata';

/**
 * Lists events of a validated query in (xid, seq) order, reading only rows whose transaction id lies below the
 * snapshot's xmin: every transaction below it has finished, so no row can ever appear behind what a reader has
 * seen. When a row that had committed before the call is not below the boundary yet (an older transaction is still
 * running), waits up to `waitMillis` for the boundary to pass it, so that a list sees every event committed before it
 * started unless an older transaction stays open longer than that.
 */
export async function listEventRows(
  db: Queryable,
  table: string,
  query: NormalizedEventQuery,
  waitMillis: number,
): Promise<Event[]> {
  const start = await readStart(db, table, query);
  await waitForBoundary(db, start, waitMillis);
  const forward = query.after !== undefined;
  const { text, values } = buildListSql(table, query, start, forward);
  const result = await db.query<EventRow>(text, values);
  const events = result.rows.map(rowToEvent);
  return forward ? events : events.reverse();
}

async function readStart(db: Queryable, table: string, query: NormalizedEventQuery): Promise<ReadStart> {
  const cursorName = query.after !== undefined ? "after" : query.before !== undefined ? "before" : undefined;
  const cursorId = query.after ?? query.before ?? null;
  if (cursorName !== undefined && cursorId !== null && !isUuid(cursorId))
    throw unknownCursorError(cursorName, cursorId);
  const result = await db.query<{ boundary: string; newest: string | null; xid: string | null; seq: string | null }>(
    `SELECT ${BOUNDARY_SQL} AS boundary, ` +
      `(SELECT newest.xid FROM ${table} AS newest ORDER BY newest.xid DESC, newest.seq DESC LIMIT 1)::text AS newest, ` +
      `cursor.xid::text AS xid, cursor.seq::text AS seq ` +
      `FROM (VALUES (1)) AS one LEFT JOIN ${table} AS cursor ON cursor.event_id = $1::uuid`,
    [cursorId],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error("the position query returned no row");
  let cursor: Position | null = null;
  if (cursorName !== undefined && cursorId !== null) {
    if (row.xid === null || row.seq === null) throw unknownCursorError(cursorName, cursorId);
    cursor = { xid: row.xid, seq: row.seq };
  }
  return { boundary: BigInt(row.boundary), newest: row.newest === null ? null : BigInt(row.newest), cursor };
}

async function waitForBoundary(db: Queryable, start: ReadStart, waitMillis: number): Promise<void> {
  const { newest } = start;
  if (newest === null || start.boundary > newest || waitMillis <= 0) return;
  const deadline = Date.now() + waitMillis;
  let delay = 1;
  while (start.boundary <= newest) {
    const remaining = deadline - Date.now();
    // Past the deadline the boundary stays where it is: the answer is a stable prefix, just not a complete one.
    if (remaining <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, remaining)));
    delay = Math.min(delay * 2, MAX_POLL_DELAY_MS);
    const result = await db.query<{ boundary: string }>(`SELECT ${BOUNDARY_SQL} AS boundary`);
    start.boundary = BigInt(result.rows[0]?.boundary ?? start.boundary);
  }
}

function buildListSql(
  table: string,
  query: NormalizedEventQuery,
  start: ReadStart,
  forward: boolean,
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const conditions = [`xid < ${param(start.boundary.toString())}::xid8`];
  if (start.cursor !== null) {
    const { xid, seq } = start.cursor;
    conditions.push(`(xid, seq) ${forward ? ">" : "<"} (${param(xid)}::xid8, ${param(seq)}::bigint)`);
  }
  for (const field of CORRELATION_FIELDS) {
    const value = query[field];
    // The extra "<> ''" lets the planner use the partial index on the column.
    if (value !== undefined) conditions.push(`${field} = ${param(value)} AND ${field} <> ''`);
  }
  if (query.since !== undefined) conditions.push(`"timestamp" >= ${param(query.since)}`);
  if (query.until !== undefined) conditions.push(`"timestamp" < ${param(query.until)}`);
  const direction = forward ? "ASC" : "DESC";
  const order = `ORDER BY xid ${direction}, seq ${direction} LIMIT ${param(query.limit)}`;
  const types = query.event_types ?? [];
  if (types.length <= 1) {
    if (types[0] !== undefined) conditions.push(`event_type = ${param(types[0])}`);
    return { text: `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE ${conditions.join(" AND ")} ${order}`, values };
  }
  // One index range per type, merged: O(types x limit) rows read instead of a scan filtering on the type.
  const branches = types.map(
    (type) =>
      `(SELECT xid, seq, ${EVENT_COLUMNS} FROM ${table} ` +
      `WHERE ${[...conditions, `event_type = ${param(type)}`].join(" AND ")} ${order})`,
  );
  return {
    text: `SELECT ${OUTER_COLUMNS} FROM (${branches.join(" UNION ALL ")}) AS matched ${order}`,
    values,
  };
}
