import { CORRELATION_FIELDS, type Event, MAX_ID_LENGTH } from "../event.js";
import { isEventType } from "../event-type.js";
import { deepFreeze, type JsonObject } from "../json.js";
import { isUuid } from "../query.js";

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

const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Turns a row into a deeply frozen `Event`, checking it as strictly as `eventSchema` would (the table may have been
 * written by other tools) but without its payload size cap, which is the writer's setting, not the reader's.
 */
export function rowToEvent(row: EventRow): Event {
  const problems: string[] = [];
  if (typeof row.event_id !== "string" || !isUuid(row.event_id)) problems.push("event_id is not a UUID");
  if (!isEventType(row.event_type)) problems.push(`event_type ${JSON.stringify(row.event_type)} is unknown`);
  if (typeof row.timestamp !== "string" || !CANONICAL_TIMESTAMP.test(row.timestamp)) {
    problems.push(`timestamp ${JSON.stringify(row.timestamp)} is not canonical (2026-11-24T10:15:30.123Z)`);
  }
  for (const field of CORRELATION_FIELDS) {
    const value = row[field];
    if (typeof value !== "string" || value.length > MAX_ID_LENGTH) problems.push(`${field} is not a short string`);
  }
  const payload = parseJsonObject(row.payload, "payload", problems);
  const metadata = parseJsonObject(row.metadata, "metadata", problems);
  if (problems.length > 0) {
    throw new Error(`the row of event ${String(row.event_id)} is not a valid event: ${problems.join("; ")}`);
  }
  // Built as one literal in wire order: cheap to freeze, and every field is a primitive or already frozen.
  return Object.freeze({
    event_id: row.event_id as string,
    event_type: row.event_type as Event["event_type"],
    timestamp: row.timestamp as string,
    flow_id: row.flow_id as string,
    flow_type: row.flow_type as string,
    proposal_id: row.proposal_id as string,
    deal_id: row.deal_id as string,
    session_id: row.session_id as string,
    payload: payload as JsonObject,
    metadata: metadata as JsonObject,
  });
}

function parseJsonObject(text: unknown, field: string, problems: string[]): JsonObject | undefined {
  if (typeof text !== "string") {
    problems.push(`${field} is missing`);
    return undefined;
  }
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`${field} is not a JSON object`);
    return undefined;
  }
  return deepFreeze(value as JsonObject);
}
