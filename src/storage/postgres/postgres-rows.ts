import type { Event } from "../../event/event.js";
import { parseStoredEvent, parseStoredRow } from "../kit/stored-event.js";

const LEGACY_COLUMNS = [
  ["event_type", "event_type"],
  ['"timestamp"', '"timestamp"'],
  ["flow_id", "flow_id"],
  ["flow_type", "flow_type"],
  ["proposal_id", "proposal_id"],
  ["deal_id", "deal_id"],
  ["session_id", "session_id"],
  ["payload::text", "payload"],
  ["metadata::text", "metadata"],
] as const;

/**
 * The select list that reads an event back: `body`, the event's wire JSON as the bus wrote it, and only for rows
 * without one (written before `body` existed, or by another tool) the columns it is rebuilt from. JSON columns are
 * read as text and parsed here, so that type parsers a caller registered on its pool cannot change what we return.
 */
export const EVENT_COLUMNS = [
  "event_id::text AS event_id",
  "body",
  ...LEGACY_COLUMNS.map(([expression, alias]) => `CASE WHEN body IS NULL THEN ${expression} END AS ${alias}`),
].join(", ");

/** The aliases of {@link EVENT_COLUMNS}, for an outer query over a union of selects. */
export const EVENT_ALIASES = ["event_id", "body", ...LEGACY_COLUMNS.map(([, alias]) => alias)].join(", ");

/**
 * Type parsers for one query that keep every text as PostgreSQL sent it (the JSON path selects text only): no
 * lookup in pg's global parser table, and parsers a caller registered on it cannot change what is served.
 */
export const TEXT_AS_SENT = { getTypeParser: () => (text: string) => text };

/** A row selected with {@link EVENT_COLUMNS}. */
export interface EventRow {
  readonly event_id: unknown;
  readonly body: unknown;
  readonly event_type: unknown;
  readonly timestamp: unknown;
  readonly flow_id: unknown;
  readonly flow_type: unknown;
  readonly proposal_id: unknown;
  readonly deal_id: unknown;
  readonly session_id: unknown;
  readonly payload: unknown;
  readonly metadata: unknown;
}

/**
 * Turns a row into a deeply frozen `Event`, checked by the rules of `eventSchema` (the table may have been written by
 * other tools), without the payload size cap, which is the writer's setting, not the reader's.
 */
export function rowToEvent(row: EventRow): Event {
  const where = `the row of event ${String(row.event_id)}`;
  if (typeof row.body !== "string") return parseStoredRow(row as unknown as Readonly<Record<string, unknown>>, where);
  let record: unknown;
  try {
    record = JSON.parse(row.body);
  } catch (error) {
    throw new Error(`${where} holds a body that does not parse: ${(error as Error).message}`);
  }
  return parseStoredEvent(record, where);
}

/**
 * The row's wire JSON: its `body` as the bus wrote it (`wireJson` of the validated event, the same bytes every store
 * serves), or, for a row without one, the event rebuilt from its columns and serialised. `body` is the adapter's own
 * column (another tool writing rows leaves it NULL), so it is passed on without a check of each text.
 */
export function rowToJson(row: EventRow): string {
  // An empty body is no JSON text: rowToEvent refuses it with the event's id, as `list` does.
  return typeof row.body === "string" && row.body !== "" ? row.body : JSON.stringify(rowToEvent(row));
}
