import { CORRELATION_FIELDS, type Event, eventSchema, freezeEvent, MAX_ID_LENGTH } from "./event.js";
import { isEventType } from "./event-type.js";
import { isPortableString, type JsonObject, MAX_JSON_DEPTH } from "./json.js";
import { normalizeTimestamp } from "./timestamp.js";

const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LOWERCASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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
    LOWERCASE_UUID.test(event_id) &&
    isEventType(fields.event_type) &&
    typeof timestamp === "string" &&
    CANONICAL_TIMESTAMP.test(timestamp) &&
    normalizeTimestamp(timestamp) === timestamp &&
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
