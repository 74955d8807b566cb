import type { Event } from "../../event/event.js";
import { parseStoredEvent, wireJson } from "../kit/stored-event.js";

/**
 * The record stored under `{prefix}event:{event_id}`: the event's JSON in wire order, exactly what
 * `JSON.stringify(event)` gives for an event the bus built, and what the Python service reads with `json.loads`.
 */
export function serializeEvent(event: Event): string {
  // In wire order, so that an event built elsewhere with its keys in another order is stored the same way.
  return wireJson(event);
}

/**
 * Reads a stored record back into a deeply frozen `Event` (see `parseStoredEvent`). Records written by the Python
 * service may carry a naive timestamp, read as UTC, and may omit empty fields. Throws an `Error` naming the key and
 * every bad field when the record is not an event.
 */
export function parseEventRecord(text: string, key: string): Event {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new Error(`the record at ${key} is not JSON (${(error as Error).message})`);
  }
  return parseStoredEvent(record, `the record at ${key}`);
}
