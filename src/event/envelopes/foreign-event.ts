import { EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import { type Event, eventSchema, freezeEvent } from "../event.js";
import { describeThrown, showValue } from "../json-value.js";

/** A foreign record's fields as plain values, read once: a throwing getter or a revoked Proxy names the record. */
export type ForeignFields = Readonly<Record<string, unknown>>;

/**
 * Reads the named own fields of a foreign envelope (a CloudEvent, an IAB event) into a plain record. Only the
 * listed names are read, so a record with a million keys costs no more than one with ten.
 */
export function readOwnFields(input: unknown, names: readonly string[], where: string): ForeignFields {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw EventValidationError.forField([], `${where} takes an object, got ${showValue(input)}`);
  }
  const fields: Record<string, unknown> = {};
  try {
    for (const name of names) if (Object.hasOwn(input, name)) fields[name] = (input as Record<string, unknown>)[name];
  } catch (error) {
    throw EventValidationError.forField([], `${where} could not read its input: ${describeThrown(error)}`);
  }
  return fields;
}

/**
 * Refuses what is not an event of this library before a conversion reads it: a caller passing `undefined` or a
 * half-built object gets an `EventValidationError`, not a `TypeError` from deep inside the mapping.
 */
export function checkEventShape(value: unknown, where: string): asserts value is Event {
  const event = value as Partial<Event> | null;
  const valid =
    typeof event === "object" &&
    event !== null &&
    typeof event.event_id === "string" &&
    typeof event.event_type === "string" &&
    typeof event.timestamp === "string" &&
    typeof event.payload === "object" &&
    event.payload !== null &&
    typeof event.metadata === "object" &&
    event.metadata !== null;
  if (!valid)
    throw EventValidationError.forField(
      "event",
      `${where} takes an Event (as the bus returns it), got ${showValue(value)}`,
    );
}

/** A timestamp that names its zone (`Z` or an offset): the only kind RFC 3339, CloudEvents and IAB accept. */
const ZONED_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;

/** Refuses a timestamp without a zone, naming `field`: a naive time would be read in the wrong zone. */
export function checkZonedTimestamp(value: unknown, field: string): void {
  if (typeof value !== "string" || value.length > 64 || !ZONED_TIMESTAMP.test(value)) {
    const why =
      typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value) ? "has no time zone" : "is not a timestamp";
    throw EventValidationError.forField(
      field,
      `${why}: give an RFC 3339 time with Z or an offset, such as 2026-11-24T10:15:30.123Z; got ${showValue(value)}`,
    );
  }
}

/**
 * Validates the event fields taken from a foreign envelope with the one event schema, and reports each problem
 * under the envelope's own field name (`names` maps an event field to it: `event_id` -> `id`).
 */
export function toValidEvent(fields: Record<string, unknown>, names: Readonly<Record<string, string>>): Event {
  const parsed = eventSchema.safeParse(fields);
  if (!parsed.success) {
    const issues: ValidationIssue[] = parsed.error.issues.map((issue) => {
      const [head, ...rest] = issue.path.map((key) => (typeof key === "symbol" ? String(key) : key));
      const renamed = typeof head === "string" ? (names[head] ?? head) : head;
      return { path: renamed === undefined ? [] : [renamed, ...rest], message: issue.message };
    });
    throw new EventValidationError(issues, { cause: parsed.error });
  }
  const { event_id, timestamp, ...content } = parsed.data;
  return freezeEvent(content, event_id, timestamp);
}
