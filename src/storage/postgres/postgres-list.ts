import type { Event } from "../../event/event.js";
import { CORRELATION_FIELDS } from "../../event/event.js";
import { isUuid, unknownCursorError } from "../../event/query.js";
import type { NormalizedEventQuery } from "../types.js";
import type { Queryable } from "./postgres-insert.js";
import { statementName } from "./postgres-insert.js";
import { gapFor } from "./postgres-prune.js";
import { EVENT_ALIASES, EVENT_COLUMNS, type EventRow, rowToEvent } from "./postgres-rows.js";

/** What a list read selects, in each of its shapes. */
export interface SelectList {
  /** The select list of a read of one index range. */
  readonly columns: string;
  /** The select list of one branch of a merged read (one range per type); it carries `position` for the merge. */
  readonly branch: string;
  /** The select list of the merge over the branches. */
  readonly merged: string;
  /** The statement the read is wrapped into, if any (the JSON path aggregates the page into one text). */
  readonly wrap?: ((read: string) => string) | undefined;
}

/** What `list` reads: every field a row may need to become an `Event`. */
export const EVENT_SELECT: SelectList = {
  columns: EVENT_COLUMNS,
  branch: `position, ${EVENT_COLUMNS}`,
  merged: EVENT_ALIASES,
};

/** A list read: the statement, whether rows come oldest first, and the cursor it reads from. */
interface ListRead {
  readonly statement: { name?: string; text: string; values: unknown[] };
  readonly forward: boolean;
  readonly cursor: string | undefined;
}

/**
 * Lists events of a validated query in `position` order, in one round trip. Only positioned rows are read: the
 * sequencer gives positions after commit, one batch at a time, each above every earlier one (see
 * `postgres-sequencer.ts`), so a reader tailing by `after` can never see a row appear behind its cursor, and no
 * snapshot horizon is needed: no other transaction can stall or hide a read.
 */
export function listEventRows(db: Queryable, table: string, query: NormalizedEventQuery): Promise<Event[]> {
  return readRows(db, table, query, rowToEvent);
}

async function readRows<T>(
  db: Queryable,
  table: string,
  query: NormalizedEventQuery,
  convert: (row: EventRow) => T,
): Promise<T[]> {
  const read = buildListRead(table, query, EVENT_SELECT);
  const { name, text, values } = read.statement;
  const result = await (name === undefined
    ? db.query<EventRow>(text, values)
    : db.query<EventRow>({ name, text, values }));
  // No row and a cursor: either nothing lies beyond it or it names no event. Only then is the second trip paid.
  if (result.rows.length === 0 && read.cursor !== undefined) await assertCursor(db, table, query);
  const items = result.rows.map(convert);
  return read.forward ? items : items.reverse();
}

/**
 * The SQL, parameters and direction of a list read of `select` (exported for the JSON path, `postgres-json.ts`).
 */
export function buildListRead(table: string, query: NormalizedEventQuery, select: SelectList): ListRead {
  const forward = query.after !== undefined;
  const cursor = query.after ?? query.before;
  if (cursor !== undefined && !isUuid(cursor)) throw unknownCursorError(forward ? "after" : "before", cursor);
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const conditions: string[] = [];
  if (cursor !== undefined) {
    const anchor = `(SELECT position FROM ${table} WHERE event_id = ${param(cursor)}::uuid)`;
    conditions.push(`position ${forward ? ">" : "<"} ${anchor}`);
  }
  for (const field of CORRELATION_FIELDS) {
    const value = query[field];
    // The extra "<> ''" lets the planner use the partial index on the column.
    if (value !== undefined) conditions.push(`${field} = ${param(value)} AND ${field} <> ''`);
  }
  if (query.since !== undefined) conditions.push(`"timestamp" >= ${param(query.since)}`);
  if (query.until !== undefined) conditions.push(`"timestamp" < ${param(query.until)}`);
  const direction = forward ? "ASC" : "DESC";
  const order = `ORDER BY position ${direction} LIMIT ${param(query.limit)}`;
  const types = query.event_types ?? [];
  let text: string;
  if (types.length <= 1) {
    if (types[0] !== undefined) conditions.push(`event_type = ${param(types[0])}`);
    text = `SELECT ${select.columns} FROM ${table}${where(conditions)} ${order}`;
  } else {
    // One index range per type, merged: O(types x limit) rows read instead of a scan filtering on the type.
    const branches = types.map(
      (type) =>
        `(SELECT ${select.branch} FROM ${table}${where([...conditions, `event_type = ${param(type)}`])} ${order})`,
    );
    text = `SELECT ${select.merged} FROM (${branches.join(" UNION ALL ")}) AS matched ${order}`;
  }
  // A filtered read is deliberately not a named statement: after five runs PostgreSQL may switch a prepared statement
  // to a generic plan built for an average value, which walks a common flow_type's index for a rare event_type.
  // Unnamed statements are planned with the actual values every time (about 0.1 ms, against a wrong plan's cost).
  // A read with no filter (the newest page, or paging by cursor alone) has one plan whatever its values: prepare it.
  const unfiltered = conditions.length === (cursor === undefined ? 0 : 1) && types.length === 0;
  if (select.wrap !== undefined) text = select.wrap(text);
  const statement = unfiltered ? { name: listStatementName(table, text), text, values } : { text, values };
  return { statement, forward, cursor };
}

/**
 * Names of the prepared list statements, by table and text: the digest of a text of 300 characters and more costs
 * about 3 µs, on every read of the newest page. A few names per table (direction, cursor, select list), so the bound
 * is only against a process that opens tables without end.
 */
const listNames = new Map<string, string>();

function listStatementName(table: string, text: string): string {
  const key = `${table}:${text}`;
  let name = listNames.get(key);
  if (name === undefined) {
    if (listNames.size >= 256) listNames.clear();
    name = statementName("list", key);
    listNames.set(key, name);
  }
  return name;
}

/** With no row read and a cursor: throws when the cursor names no event (a gap when it was pruned). */
export async function assertCursor(db: Queryable, table: string, query: NormalizedEventQuery): Promise<void> {
  const cursor = (query.after ?? query.before) as string;
  const found = await db.query(`SELECT 1 FROM ${table} WHERE event_id = $1::uuid`, [cursor]);
  if (found.rows.length > 0) return;
  const name = query.after !== undefined ? "after" : "before";
  throw (await gapFor(db, table, name, cursor)) ?? unknownCursorError(name, cursor);
}

/** Every read sees numbered rows only; the condition also lets the planner use the partial indexes. */
function where(conditions: readonly string[]): string {
  return ` WHERE ${["position IS NOT NULL", ...conditions].join(" AND ")}`;
}
