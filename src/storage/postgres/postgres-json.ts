import type { Pool } from "pg";
import type { NormalizedEventQuery } from "../types.js";
import { type CallDeadline, queryWithin } from "./postgres-deadline.js";
import { preparedStatement, type Queryable } from "./postgres-insert.js";
import { assertCursor, buildListRead, type SelectList } from "./postgres-list.js";
import { EVENT_COLUMNS, type EventRow, rowToJson, TEXT_AS_SENT } from "./postgres-rows.js";

/** What the JSON reads of one store use. */
export interface JsonReadContext {
  /** The caller's pool: the one query of a read runs on it under the call's deadline (`queryWithin`). */
  readonly pool: Pool;
  /** The bounded pool, for the rare second query (a cursor that matched nothing, rows without `body`). */
  readonly bounded: Queryable;
  readonly table: string;
  readonly timeoutMs: number;
}

/**
 * Separates the texts of a page. U+0001 cannot occur in a JSON text (a control character is escaped inside strings
 * and is not whitespace between tokens), so any stored body, even one another tool spaced out, splits back whole.
 */
const SEPARATOR = "\u0001";

/**
 * The JSON path's read: the page's rows aggregated into one text, oldest first, each row's `body` as stored (an
 * empty text for a row without one), and, only when such rows are on the page, their ids in the same order. One
 * row, two fields: pg decodes one string instead of a message, an array and a string for each event.
 */
export const JSON_SELECT: SelectList = {
  columns: "position, body, event_id",
  branch: "position, body, event_id",
  merged: "position, body, event_id",
  wrap: (read) =>
    "SELECT string_agg(coalesce(body, ''), chr(1) ORDER BY position) AS texts, " +
    "string_agg(event_id::text, ',' ORDER BY position) FILTER (WHERE coalesce(body, '') = '') AS legacy_ids " +
    `FROM (${read}) AS page`,
};

/**
 * `list` as wire JSON, in one round trip: each row's stored `body`, passed on as PostgreSQL sent it (no parse, no
 * row object, no check of each text). Rows without `body` (written by 0.1, or by another tool that fills only the
 * columns) are rebuilt from their columns by one more query, the same bytes `list` then `JSON.stringify` give.
 */
export async function listEventJson(
  context: JsonReadContext,
  query: NormalizedEventQuery,
  deadline: CallDeadline,
): Promise<string[]> {
  const read = buildListRead(context.table, query, JSON_SELECT);
  const config = { ...read.statement, rowMode: "array", types: TEXT_AS_SENT };
  const { rows } = await queryWithin<JsonPage>(context.pool, config, deadline, context.timeoutMs);
  const [joined, legacyIds] = (rows[0] as unknown as JsonPage | undefined) ?? [null, null];
  if (joined === null) {
    // No row and a cursor: either nothing lies beyond it or it names no event. Only then is the second trip paid.
    if (read.cursor !== undefined) await assertCursor(context.bounded, context.table, query);
    return [];
  }
  const texts = joined.split(SEPARATOR);
  return legacyIds === null ? texts : rebuildLegacy(context, texts, legacyIds.split(","));
}

/** The one row of a {@link JSON_SELECT} read in array mode: the joined texts, and the ids of rows without `body`. */
type JsonPage = readonly [texts: string | null, legacyIds: string | null];

/** `getJson`: the stored `body` of one event, or its rebuilt JSON; `null` when no event has that id. */
export async function getEventJson(
  context: JsonReadContext,
  eventId: string,
  deadline: CallDeadline,
): Promise<string | null> {
  const { rows } = await queryWithin<EventRow>(
    context.pool,
    // The statement `get` prepares too: one shape, planned once per connection.
    { ...preparedStatement("get", context.table, getEventSql), values: [eventId] },
    deadline,
    context.timeoutMs,
  );
  const row = rows[0];
  return row === undefined ? null : rowToJson(row);
}

/** `SELECT` of one event by id, shared by `get` and `getJson`. */
export function getEventSql(table: string): string {
  return `SELECT ${EVENT_COLUMNS} FROM ${table} WHERE event_id = $1::uuid`;
}

/**
 * Replaces the empty texts of rows without `body` (their ids in `ids`, in page order) with their events' JSON,
 * rebuilt from the columns. A row pruned between the two queries is left out of the page, as if read a moment later.
 */
async function rebuildLegacy(context: JsonReadContext, texts: string[], ids: readonly string[]): Promise<string[]> {
  const { rows } = await context.bounded.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM ${context.table} WHERE event_id = ANY($1::uuid[])`,
    [ids],
  );
  const rebuilt = new Map(rows.map((row) => [String(row.event_id), rowToJson(row)]));
  let next = 0;
  const page: string[] = [];
  for (const text of texts) {
    const json = text === "" ? rebuilt.get(ids[next++] as string) : text;
    if (json !== undefined) page.push(json);
  }
  return page;
}
