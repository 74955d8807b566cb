import type { Event } from "../../event.js";
import { parseStoredRow } from "../../stored-event.js";

/**
 * The select list that reads an event back. JSON columns are read as text and parsed here, so that type parsers a
 * caller registered on its pool cannot change what we return.
 */
export const EVENT_COLUMNS =
  'event_id::text AS event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, ' +
  "payload::text AS payload, metadata::text AS metadata";

/** A row selected with {@link EVENT_COLUMNS}. */
export interface EventRow {
  readonly event_id: unknown;
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
  return parseStoredRow(
    row as unknown as Readonly<Record<string, unknown>>,
    `the row of event ${String(row.event_id)}`,
  );
}
