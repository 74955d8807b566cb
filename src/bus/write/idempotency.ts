import { EventConflictError, EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import { CORRELATION_FIELDS, type Event } from "../../event/event.js";
import { jsonEqual } from "../../event/json-value.js";

const COMPARED_FIELDS = ["event_type", ...CORRELATION_FIELDS] as const;

/** An id already stored: identical content is an idempotent retry, anything else a conflict. */
export function settleDuplicate(stored: Event, incoming: Event, compareTimestamp: boolean): Event {
  const differing = differingFields(stored, incoming, compareTimestamp);
  if (differing.length > 0) throw new EventConflictError(incoming.event_id, differing);
  return stored;
}

/**
 * Where a batch names one `event_id` twice: `firsts[index]` is the index of the first event with that id when
 * the two are identical (the later one is a retry inside the batch and is not appended again). A repeat with
 * different content is refused before anything is stored.
 */
export function findRepeatsInBatch(events: readonly Event[], timestampGiven: readonly boolean[]): Map<number, number> {
  const repeats = new Map<number, number>();
  if (events.length < 2) return repeats;
  const firstById = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  events.forEach((event, index) => {
    const first = firstById.get(event.event_id);
    if (first === undefined) {
      firstById.set(event.event_id, index);
      return;
    }
    const differing = differingFields(events[first] as Event, event, timestampGiven[index] === true);
    if (differing.length === 0) repeats.set(index, first);
    else
      issues.push({
        path: [index, "event_id"],
        message: `repeats the event_id of [${first}] with different ${differing.join(", ")}; give each event its own id`,
      });
  });
  if (issues.length > 0) throw new EventValidationError(issues);
  return repeats;
}

/** The fields in which two events of one id differ; the timestamp only when the incoming one was given it. */
export function differingFields(stored: Event, incoming: Event, compareTimestamp: boolean): string[] {
  const differing: string[] = COMPARED_FIELDS.filter((field) => stored[field] !== incoming[field]);
  if (!jsonEqual(stored.payload, incoming.payload)) differing.push("payload");
  if (!jsonEqual(stored.metadata, incoming.metadata)) differing.push("metadata");
  if (compareTimestamp && stored.timestamp !== incoming.timestamp) differing.push("timestamp");
  return differing;
}
