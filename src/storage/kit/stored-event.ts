import {
  CORRELATION_FIELDS,
  type EVENT_FIELDS,
  type Event,
  eventSchema,
  freezeEvent,
  MAX_ID_LENGTH,
} from "../../event/event.js";
import { CANONICAL_UUID_SOURCE, isCanonicalUuid } from "../../event/event-id.js";
import { EVENT_TYPES, isEventType } from "../../event/event-type.js";
import { isPortableString, type JsonObject, MAX_JSON_DEPTH } from "../../event/json-value.js";

/**
 * Turns a record read from a store into a deeply frozen `Event`, validated by `eventSchema`, or throws an `Error`
 * that names `where` and every bad field (the bus reports it as a `StorageError`).
 *
 * `payload` and `metadata` must be fresh results of `JSON.parse` that nothing else holds: a record in the canonical
 * form the bus writes is frozen in place without a copy (the store's hot path), anything else (a naive timestamp
 * from the Python service, a missing field) goes through `eventSchema`, which copies.
 *
 * @example
 * ```ts
 * const event = parseStoredEvent(JSON.parse(await redis.get(key)), key);
 * ```
 */
export function parseStoredEvent(record: unknown, where: string): Event {
  if (isCanonicalRecord(record)) return freezeEvent(record, record.event_id, record.timestamp);
  const parsed = eventSchema.safeParse(record);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(record)"}: ${issue.message}`);
    throw new Error(`${where} does not hold a valid event: ${problems.join("; ")}`);
  }
  const fields = parsed.data;
  return freezeEvent(fields, fields.event_id.toLowerCase(), fields.timestamp);
}

/**
 * `parseStoredEvent` for SQL rows that keep `payload` and `metadata` as JSON text columns. Extra columns (such as
 * an append sequence) are dropped.
 */
export function parseStoredRow(row: Readonly<Record<string, unknown>>, where: string): Event {
  return parseStoredEvent(
    { ...row, payload: parseJsonColumn(row.payload, where), metadata: parseJsonColumn(row.metadata, where) },
    where,
  );
}

function parseJsonColumn(text: unknown, where: string): unknown {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${where} holds a JSON column that does not parse: ${(error as Error).message}`);
  }
}

/** A record exactly as the bus writes it: every field present and already canonical. */
function isCanonicalRecord(record: unknown): record is Event & { payload: JsonObject; metadata: JsonObject } {
  if (typeof record !== "object" || record === null) return false;
  const fields = record as Record<string, unknown>;
  const { event_id, timestamp } = fields;
  return (
    typeof event_id === "string" &&
    isCanonicalUuid(event_id) &&
    isEventType(fields.event_type) &&
    typeof timestamp === "string" &&
    isCanonicalTimestamp(timestamp) &&
    CORRELATION_FIELDS.every((field) => isStoredId(fields[field])) &&
    isJsonObject(fields.payload) &&
    isJsonObject(fields.metadata) &&
    freezeParsedJson(fields.payload, 0) &&
    freezeParsedJson(fields.metadata, 0)
  );
}

/**
 * Freezes a `JSON.parse` result in place, checking what `JSON.parse` does not: that every string and key is portable
 * and the nesting within bounds. False sends the record to the schema, which words the problem.
 */
function freezeParsedJson(value: unknown, depth: number): boolean {
  if (typeof value === "string") return isPortableString(value);
  if (typeof value !== "object" || value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  for (const key of Object.keys(value)) {
    if (!isPortableString(key) || !freezeParsedJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  Object.freeze(value);
  return true;
}

function isStoredId(value: unknown): boolean {
  return typeof value === "string" && value.length <= MAX_ID_LENGTH && isPortableString(value);
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An event's JSON in wire order, the text every store writes: `JSON.stringify` of the frozen `Event` the bus builds,
 * byte for byte, even when `event` is an object whose keys were set in another order.
 *
 * @example
 * ```ts
 * await redis.set(`ad_seller:event:${event.event_id}`, wireJson(event));
 * ```
 */
export function wireJson(event: Event): string {
  return JSON.stringify({
    event_id: event.event_id,
    event_type: event.event_type,
    timestamp: event.timestamp,
    flow_id: event.flow_id,
    flow_type: event.flow_type,
    proposal_id: event.proposal_id,
    deal_id: event.deal_id,
    session_id: event.session_id,
    payload: event.payload,
    metadata: event.metadata,
  });
}

const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
// A real date in the canonical form `normalizeTimestamp` returns unchanged: days past a month's end never match,
// and 29 February only in a leap year (divisible by 4 but not by 100, or by 400). Checking this in the pattern
// instead of with a `Date` parse and format (or a month table) keeps a stored text's check to one regex run.
const MONTH_AND_DAY = String.raw`(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)`;
const LEAP_DAY = String.raw`(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29`;
const CANONICAL_TIMESTAMP = String.raw`(?:\d{4}-${MONTH_AND_DAY}|${LEAP_DAY})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z`;
const VALID_TIMESTAMP = new RegExp(`^${CANONICAL_TIMESTAMP}$`);
const KNOWN_EVENT_TYPE = `(?:${EVENT_TYPES.map((type) => type.replace(".", "\\.")).join("|")})`;

/**
 * True for a timestamp `normalizeTimestamp` would return unchanged (canonical form, a real date), without its `Date`
 * parse and format, which cost more than the rest of reading a stored event.
 */
function isCanonicalTimestamp(timestamp: string): boolean {
  return VALID_TIMESTAMP.test(timestamp);
}

/** The opening of a text {@link wireJson} wrote, up to the payload; each group holds one field as written. */
function wireOpening(group: (pattern: string) => string): RegExp {
  return new RegExp(
    `^\\{"event_id":"${group(CANONICAL_UUID_SOURCE)}","event_type":"${group(KNOWN_EVENT_TYPE)}",` +
      `"timestamp":"${group(CANONICAL_TIMESTAMP)}","flow_id":${group(JSON_STRING)},"flow_type":${group(JSON_STRING)},` +
      `"proposal_id":${group(JSON_STRING)},"deal_id":${group(JSON_STRING)},"session_id":${group(JSON_STRING)},` +
      `"payload":\\{`,
  );
}
const WIRE_HEADER = wireOpening((pattern) => `(${pattern})`);
// The same test without captures: a page read with no filter needs a yes or no, not the fields (a quarter the cost).
const WIRE_OPENING = wireOpening((pattern) => pattern);

/** The fields of a stored wire text that filters look at, the correlation ids still as JSON string literals. */
export type WireHeader = { readonly [Field in Exclude<(typeof EVENT_FIELDS)[number], "payload" | "metadata">]: string };

/**
 * The header of a text that {@link wireJson} wrote, or `undefined` for anything else (a record written by another
 * tool, a naive timestamp, spaces after colons): such texts take the slow path (parse, validate, serialise), so the
 * fast path only ever passes on text the bus itself produced.
 */
export function readWireHeader(text: string): WireHeader | undefined {
  const match = WIRE_HEADER.exec(text);
  if (match === null || text.charCodeAt(text.length - 1) !== 125 /* } */) return undefined;
  const [, event_id, event_type, timestamp, flow_id, flow_type, proposal_id, deal_id, session_id] =
    match as unknown as [string, string, string, string, string, string, string, string, string];
  return { event_id, event_type, timestamp, flow_id, flow_type, proposal_id, deal_id, session_id };
}

/**
 * True exactly when {@link readWireHeader} finds a header: `text` is as {@link wireJson} writes it. For reads that
 * filter nothing, where the fields themselves are not needed.
 */
export function isWireText(text: string): boolean {
  return WIRE_OPENING.test(text) && text.charCodeAt(text.length - 1) === 125 /* } */;
}
