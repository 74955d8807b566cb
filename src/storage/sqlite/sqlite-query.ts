import { EVENT_FIELDS, type Event } from "../../event.js";
import { parseStoredRow } from "../../stored-event.js";
import type { NormalizedEventQuery } from "../types.js";
import type { SqliteValue } from "./sqlite-driver.js";
import { quoteIdentifier } from "./sqlite-schema.js";

/** The columns every read selects; `seq` orders merged reads and is dropped when the row is parsed. */
const SELECTED = `seq, ${EVENT_FIELDS.map(quoteIdentifier).join(", ")}`;

/**
 * When several equality filters are given, the first of these present drives the read through its `(column, seq)`
 * index and the others are checked per row. Without statistics SQLite cannot know which index is narrowest, so the
 * order encodes ours: a deal or proposal has few events, a flow type very many.
 */
const DRIVING_COLUMNS = ["deal_id", "proposal_id", "flow_id", "session_id", "flow_type"] as const;

/** The append-sequence bounds of a window, from the cursors' stored `seq`. */
export interface SeqWindow {
  readonly afterSeq?: number | undefined;
  readonly beforeSeq?: number | undefined;
}

/** One `list` read: its SQL, its parameters, and whether rows come oldest first. */
export interface ListStatement {
  readonly sql: string;
  readonly params: SqliteValue[];
  readonly oldestFirst: boolean;
}

/**
 * Builds the read for a validated query. Rows come newest first for the newest and `before` windows (the caller
 * reverses them) and oldest first for `after`, so `LIMIT` always cuts at the far end of the window.
 */
export function buildListStatement(table: string, query: NormalizedEventQuery, window: SeqWindow): ListStatement {
  const oldestFirst = window.afterSeq !== undefined;
  const order = oldestFirst ? "ASC" : "DESC";
  const driving = DRIVING_COLUMNS.find((column) => query[column] !== undefined);
  const conditions: string[] = [];
  const params: SqliteValue[] = [];
  for (const column of DRIVING_COLUMNS) {
    const value = query[column];
    if (value === undefined) continue;
    // Unary + hides a column from the planner, so only the driving column's index is used.
    conditions.push(`${column === driving ? "" : "+"}${quoteIdentifier(column)} = ?`);
    params.push(value);
  }
  addBound(conditions, params, '"timestamp" >= ?', query.since);
  addBound(conditions, params, '"timestamp" < ?', query.until);
  addBound(conditions, params, "seq > ?", window.afterSeq);
  addBound(conditions, params, "seq < ?", window.beforeSeq);
  const from = `FROM ${quoteIdentifier(table)}`;
  const types = query.event_types;
  if (types !== undefined && (driving !== undefined || types.length === 1)) {
    const column = driving === undefined ? "event_type" : "+event_type";
    conditions.push(types.length === 1 ? `${column} = ?` : `${column} IN (${types.map(() => "?").join(", ")})`);
    params.push(...types);
  }
  if (types === undefined || driving !== undefined || types.length === 1) {
    const sql = `SELECT ${SELECTED} ${from}${where(conditions)} ORDER BY seq ${order} LIMIT ?`;
    return { sql, params: [...params, query.limit], oldestFirst };
  }
  // Several types and no narrower filter: `IN` over the (event_type, seq) index would sort every match. Instead
  // read each type's own ordered range, at most `limit` rows each, and merge them.
  const branch = `SELECT * FROM (SELECT ${SELECTED} ${from}${where(["event_type = ?", ...conditions])} ORDER BY seq ${order} LIMIT ?)`;
  const sql = `${types.map(() => branch).join(" UNION ALL ")} ORDER BY seq ${order} LIMIT ?`;
  const branchParams = types.flatMap((type) => [type, ...params, query.limit]);
  return { sql, params: [...branchParams, query.limit], oldestFirst };
}

/** The SQL that reads one event by id. */
export function selectByIdSql(table: string): string {
  return `SELECT ${SELECTED} FROM ${quoteIdentifier(table)} WHERE event_id = ?`;
}

/** The SQL that stores one event, leaving an already stored id untouched. */
export function insertSql(table: string): string {
  const columns = EVENT_FIELDS.map(quoteIdentifier).join(", ");
  const slots = EVENT_FIELDS.map(() => "?").join(", ");
  return `INSERT INTO ${quoteIdentifier(table)} (${columns}) VALUES (${slots}) ON CONFLICT(event_id) DO NOTHING`;
}

/** The parameters of {@link insertSql} for one event, in column order. */
export function insertParams(event: Event): SqliteValue[] {
  return [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.flow_id,
    event.flow_type,
    event.proposal_id,
    event.deal_id,
    event.session_id,
    JSON.stringify(event.payload),
    JSON.stringify(event.metadata),
  ];
}

/** Parses a stored row into a deeply frozen `Event`, or throws naming the row and the bad columns. */
export function rowToEvent(row: unknown, table: string): Event {
  const columns = row as Record<string, unknown>;
  return parseStoredRow(columns, `row ${String(columns.event_id)} of table "${table}"`);
}

function addBound(conditions: string[], params: SqliteValue[], condition: string, value: string | number | undefined) {
  if (value === undefined) return;
  conditions.push(condition);
  params.push(value);
}

function where(conditions: readonly string[]): string {
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}
