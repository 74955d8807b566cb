import { EVENT_FIELDS, type Event } from "../../event/event.js";
import { parseStoredRow } from "../kit/stored-event.js";
import type { NormalizedEventQuery } from "../types.js";
import type { SqliteValue } from "./sqlite-driver.js";
import { quoteIdentifier } from "./sqlite-schema.js";

/** The columns every read selects; `seq` orders merged reads and is dropped when the row is parsed. */
const SELECTED = `seq, ${EVENT_FIELDS.map(quoteIdentifier).join(", ")}`;
/**
 * The event's wire JSON built by SQLite itself from the columns (`json_object`, which escapes strings exactly as
 * `JSON.stringify` does, with the JSON columns embedded through `json()`, which checks them and returns what the bus
 * wrote unchanged): for rows without a stored `body` (written by another tool, or before the column existed).
 */
const BUILT_JSON = `json_object(${EVENT_FIELDS.map((field) =>
  field === "payload" || field === "metadata" ? `'${field}', json(${field})` : `'${field}', ${quoteIdentifier(field)}`,
).join(", ")})`;

/**
 * The columns of a JSON read: `seq`, the event's wire JSON, and `built` (1 when SQLite built it from the columns, so
 * its header must be checked). A table with a `body` column hands over the text the bus stored, a copy and not a
 * build; one text column per row is also far cheaper for the driver to hand over than eleven.
 */
export function jsonSelected(hasBody: boolean): string {
  return hasBody
    ? `seq, coalesce(body, ${BUILT_JSON}) AS body, body IS NULL AS built`
    : `seq, ${BUILT_JSON} AS body, 1 AS built`;
}

/**
 * When several filters are given and the counts cannot tell them apart (every probe reached its cap), the first of
 * these present drives the read: a deal or proposal has few events, a flow type very many. `event_type` stands for the
 * union of the query's types and `timestamp` for its time range.
 */
export const DRIVING_ORDER = [
  "deal_id",
  "proposal_id",
  "flow_id",
  "session_id",
  "event_type",
  "flow_type",
  "timestamp",
] as const;

/** What drives a read: one equality column's `(column, seq)` index, the type indexes, or the time index. */
export type ListDriver = (typeof DRIVING_ORDER)[number];

const EQUALITY_COLUMNS = ["deal_id", "proposal_id", "flow_id", "session_id", "flow_type"] as const;

/** The drivers a query could use, in {@link DRIVING_ORDER}. */
export function driverCandidates(query: NormalizedEventQuery): ListDriver[] {
  return DRIVING_ORDER.filter((driver) => {
    if (driver === "event_type") return query.event_types !== undefined;
    if (driver === "timestamp") return query.since !== undefined || query.until !== undefined;
    return query[driver] !== undefined;
  });
}

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
export function buildListStatement(
  table: string,
  query: NormalizedEventQuery,
  window: SeqWindow,
  driver: ListDriver | undefined = driverCandidates(query)[0],
  selected: string = SELECTED,
): ListStatement {
  const oldestFirst = window.afterSeq !== undefined;
  const order = oldestFirst ? "ASC" : "DESC";
  // Unary + hides a column from the planner, so only the driving index is used.
  const hide = (column: ListDriver) => (column === driver ? "" : "+");
  const conditions: string[] = [];
  const params: SqliteValue[] = [];
  for (const column of EQUALITY_COLUMNS) {
    const value = query[column];
    if (value === undefined) continue;
    conditions.push(`${hide(column)}${quoteIdentifier(column)} = ?`);
    params.push(value);
  }
  addBound(conditions, params, `${hide("timestamp")}"timestamp" >= ?`, query.since);
  addBound(conditions, params, `${hide("timestamp")}"timestamp" < ?`, query.until);
  addBound(conditions, params, "seq > ?", window.afterSeq);
  addBound(conditions, params, "seq < ?", window.beforeSeq);
  // Without per-value statistics SQLite prefers a walk in seq order to a range it must sort: insist on the time index.
  const from = `FROM ${quoteIdentifier(table)}${driver === "timestamp" ? ` INDEXED BY ${timeIndexName(table)}` : ""}`;
  const types = query.event_types;
  const mergeTypes = types !== undefined && types.length > 1 && driver === "event_type";
  if (types !== undefined && !mergeTypes) {
    const column = `${hide("event_type")}event_type`;
    conditions.push(types.length === 1 ? `${column} = ?` : `${column} IN (${types.map(() => "?").join(", ")})`);
    params.push(...types);
  }
  if (types === undefined || !mergeTypes) {
    const sql = `SELECT ${selected} ${from}${where(conditions)} ORDER BY seq ${order} LIMIT ?`;
    return { sql, params: [...params, query.limit], oldestFirst };
  }
  // Several types drive: `IN` over the (event_type, seq) index would sort every match. Instead read each type's own
  // ordered range, at most `limit` rows each, and merge them.
  const branch = `SELECT * FROM (SELECT ${selected} ${from}${where(["event_type = ?", ...conditions])} ORDER BY seq ${order} LIMIT ?)`;
  const sql = `${types.map(() => branch).join(" UNION ALL ")} ORDER BY seq ${order} LIMIT ?`;
  const branchParams = types.flatMap((type) => [type, ...params, query.limit]);
  return { sql, params: [...branchParams, query.limit], oldestFirst };
}

/** The quoted name of the `("timestamp", seq)` index of a table. */
export function timeIndexName(table: string): string {
  return quoteIdentifier(`${table}_timestamp_seq`);
}

/** The SQL that reads one event by id. */
export function selectByIdSql(table: string, selected: string = SELECTED): string {
  return `SELECT ${selected} FROM ${quoteIdentifier(table)} WHERE event_id = ?`;
}

/** The SQL that stores one event (with its wire JSON in `body` when the table has it), leaving a stored id alone. */
export function insertSql(table: string, hasBody: boolean): string {
  const fields = hasBody ? [...EVENT_FIELDS, "body"] : EVENT_FIELDS;
  const columns = fields.map(quoteIdentifier).join(", ");
  const slots = fields.map(() => "?").join(", ");
  return `INSERT INTO ${quoteIdentifier(table)} (${columns}) VALUES (${slots}) ON CONFLICT(event_id) DO NOTHING`;
}

/** The parameters of {@link insertSql} for one event, in column order. */
export function insertParams(event: Event, hasBody: boolean): SqliteValue[] {
  const payload = JSON.stringify(event.payload);
  const metadata = JSON.stringify(event.metadata);
  const params: SqliteValue[] = [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.flow_id,
    event.flow_type,
    event.proposal_id,
    event.deal_id,
    event.session_id,
    payload,
    metadata,
  ];
  if (hasBody) params.push(wireBody(params, payload, metadata));
  return params;
}

const HEADER_NAMES = EVENT_FIELDS.slice(0, 8).map((field, index) => `${index === 0 ? "{" : ","}"${field}":`);

/**
 * `wireJson(event)` from the already serialised payload and metadata: the same bytes (each string field goes through
 * `JSON.stringify` on its own, in wire order), without serialising the payload a second time.
 */
function wireBody(fields: readonly SqliteValue[], payload: string, metadata: string): string {
  let text = "";
  for (let index = 0; index < HEADER_NAMES.length; index++) {
    text += HEADER_NAMES[index] + JSON.stringify(fields[index]);
  }
  return `${text},"payload":${payload},"metadata":${metadata}}`;
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
