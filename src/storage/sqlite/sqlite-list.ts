import { EVENT_FIELDS, type Event } from "../../event/event.js";
import { unknownCursorError } from "../../event/query.js";
import { isWireText, parseStoredRow } from "../kit/stored-event.js";
import type { NormalizedEventQuery } from "../types.js";
import type { SqliteDatabase, SqliteValue, StatementCache } from "./sqlite-driver.js";
import { JOINED_COLUMNS, joinedPageSql, readJoinedPage } from "./sqlite-list-joined.js";
import { chooseDriver, driverCandidates, type ListDriver, type SeqWindow } from "./sqlite-list-plan.js";
import { gapFor } from "./sqlite-prune.js";
import { quoteIdentifier, tableHasBody } from "./sqlite-schema.js";

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
function jsonSelected(hasBody: boolean): string {
  return hasBody
    ? `seq, coalesce(body, ${BUILT_JSON}) AS body, body IS NULL AS built`
    : `seq, ${BUILT_JSON} AS body, 1 AS built`;
}

const EQUALITY_COLUMNS = ["deal_id", "proposal_id", "flow_id", "session_id", "flow_type"] as const;

/** The JSON reads of a table, settled on first use. */
interface JsonReads {
  readonly selected: string;
  readonly byIdSql: string;
  /** Whether pages come joined in one row ({@link readJoinedPage}). */
  readonly joined: boolean;
}

/** A row of a JSON read. */
interface JsonRow {
  readonly seq: number | bigint;
  readonly body: string;
  readonly built: number | bigint;
}

/** The reads of one events table over one connection, synchronous like the drivers (see `sqliteStorage`). */
export class SqliteEventReader {
  private readonly selectByIdSql: string;
  private readonly selectBySeqSql: string;
  private readonly seqByIdSql: string;
  private hasTimeIndex: boolean | undefined;
  /** The JSON reads depend on the table's columns, read on first use (after the store's setup has run). */
  private jsonReads: JsonReads | undefined;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly table: string,
    private readonly statements: StatementCache,
  ) {
    this.selectByIdSql = selectByIdSql(table);
    this.selectBySeqSql = selectByIdSql(table).replace("WHERE event_id = ?", "WHERE seq = ?");
    this.seqByIdSql = `SELECT seq FROM ${quoteIdentifier(table)} WHERE event_id = ?`;
  }

  get(eventId: string): Event | null {
    const row = this.statements.get(this.selectByIdSql).get(eventId);
    return row === undefined ? null : rowToEvent(row, this.table);
  }

  list(query: NormalizedEventQuery): Event[] {
    return this.read(query, undefined, (row) => rowToEvent(row, this.table));
  }

  /**
   * `list` as wire JSON texts: each row's stored `body`, or one SQLite builds from the columns; nothing is parsed.
   * A page of stored bodies comes joined in one row; any other page is read again row by row.
   */
  listJson(query: NormalizedEventQuery): string[] {
    const reads = this.jsonRead();
    if (reads.joined) {
      const read = this.plan(query, JOINED_COLUMNS);
      const texts = readJoinedPage(this.statements.get(joinedPageSql(read.sql)), read.params, read.oldestFirst);
      if (texts !== undefined) return texts;
    }
    return this.read(query, reads.selected, (row) => this.rowJson(row as JsonRow));
  }

  getJson(eventId: string): string | null {
    const row = this.statements.get(this.jsonRead().byIdSql).get(eventId) as JsonRow | undefined;
    return row === undefined ? null : this.rowJson(row);
  }

  private jsonRead(): JsonReads {
    if (this.jsonReads !== undefined) return this.jsonReads;
    const hasBody = tableHasBody(this.database, this.table);
    const selected = jsonSelected(hasBody);
    // Without a body column every row is built, and each header must be checked: joining would never pay.
    this.jsonReads = { selected, byIdSql: selectByIdSql(this.table, selected), joined: hasBody };
    return this.jsonReads;
  }

  /**
   * The row's stored `body`, which the bus wrote; a JSON built from the columns when its header is in the bus's own
   * form; otherwise (a naive timestamp or an upper-case id written by another tool) the row is read as an event,
   * which normalises it, and serialised.
   */
  private rowJson(row: JsonRow): string {
    if (!row.built || isWireText(row.body)) return row.body;
    const full = this.statements.get(this.selectBySeqSql).get(row.seq);
    return JSON.stringify(rowToEvent(full, this.table));
  }

  private read<T>(query: NormalizedEventQuery, selected: string | undefined, convert: (row: unknown) => T): T[] {
    return this.run(this.plan(query, selected), convert);
  }

  /** The page read of a query: cursors resolved, driving index chosen. */
  private plan(query: NormalizedEventQuery, selected: string | undefined): ListStatement {
    const afterSeq = this.cursorSeq("after", query.after);
    const beforeSeq = this.cursorSeq("before", query.before);
    const window = { afterSeq, beforeSeq };
    this.hasTimeIndex ??=
      this.database
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?")
        .get(`${this.table}_timestamp_seq`) !== undefined;
    const driver = chooseDriver(this.statements, this.table, query, window, this.hasTimeIndex);
    return buildListStatement(this.table, query, window, driver, selected);
  }

  /** Runs a page read row by row, oldest first. */
  private run<T>(read: ListStatement, convert: (row: unknown) => T): T[] {
    const items = this.statements
      .get(read.sql)
      .all(...read.params)
      .map(convert);
    return read.oldestFirst ? items : items.reverse();
  }

  private cursorSeq(cursor: "after" | "before", eventId: string | undefined): number | undefined {
    if (eventId === undefined) return undefined;
    const row = this.statements.get(this.seqByIdSql).get(eventId) as { seq: number | bigint } | undefined;
    if (row === undefined)
      throw gapFor(this.statements, this.table, cursor, eventId) ?? unknownCursorError(cursor, eventId);
    return Number(row.seq);
  }
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
function selectByIdSql(table: string, selected: string = SELECTED): string {
  return `SELECT ${selected} FROM ${quoteIdentifier(table)} WHERE event_id = ?`;
}

/** Parses a stored row into a deeply frozen `Event`, or throws naming the row and the bad columns. */
function rowToEvent(row: unknown, table: string): Event {
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
