import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { didYouMean } from "../errors/suggestions.js";
import type { NormalizedEventQuery } from "../storage/types.js";
import { CORRELATION_FIELDS, type Event, MAX_ID_LENGTH } from "./event.js";
import { isUuid } from "./event-id.js";
import { describeBadPattern, EVENT_TYPES, type EventType, type EventTypeFilter, typesMatching } from "./event-type.js";
import { describeThrown, isPortableString, PORTABLE_STRING_RULE, showValue } from "./json-value.js";
import { normalizeTimestamp } from "./timestamp.js";

/**
 * Default `limit` of `listEvents` and `GET /events`.
 *
 * @example
 * ```ts
 * const page = await bus.listEvents({ deal_id }); // at most DEFAULT_LIMIT (50) events
 * ```
 */
export const DEFAULT_LIMIT = 50;
/**
 * Largest `limit` accepted.
 *
 * @example
 * ```ts
 * const everything = await bus.listEvents({ deal_id, limit: MAX_LIMIT });
 * ```
 */
export const MAX_LIMIT = 1000;

/**
 * A `listEvents` query. Every filter is optional and they are ANDed; an empty string means "no filter".
 *
 * @example
 * ```ts
 * const query: EventQuery = { session_id, event_type: ["negotiation.round", "proposal.countered"], limit: 20 };
 * ```
 */
export interface EventQuery<Filter extends EventTypeFilter = EventTypeFilter> {
  readonly flow_id?: string | undefined;
  readonly flow_type?: string | undefined;
  readonly proposal_id?: string | undefined;
  readonly deal_id?: string | undefined;
  readonly session_id?: string | undefined;
  /** A type, a pattern (`"deal.*"`, `"*"`), or an array mixing both (matching any of them). */
  readonly event_type?: Filter | undefined;
  /** Only events at or after this time (inclusive). */
  readonly since?: string | Date | undefined;
  /** Only events before this time (exclusive). */
  readonly until?: string | Date | undefined;
  /** Tail: the first `limit` matches appended after this event id. */
  readonly after?: string | undefined;
  /** Page back: the newest `limit` matches appended before this event id. */
  readonly before?: string | undefined;
  /** 1 to 1000 (default 50). */
  readonly limit?: number | undefined;
}

const QUERY_KEYS: ReadonlySet<string> = new Set([
  ...CORRELATION_FIELDS,
  "event_type",
  "since",
  "until",
  "after",
  "before",
  "limit",
]);

// Re-exported where the query helpers have always offered it; the rule lives in event-id.ts.
export { isUuid } from "./event-id.js";

/**
 * Validates a query and brings it to the form storage adapters receive. Every problem is reported at once, each
 * naming the field and what is allowed.
 *
 * @example
 * ```ts
 * normalizeEventQuery({ session_id: "s-1" }); // { session_id: "s-1", limit: 50 }
 * normalizeEventQuery({ limit: 0 }); // throws EventValidationError: limit: must be an integer from 1 to 1000, got 0
 * ```
 */
export function normalizeEventQuery(query: unknown = {}, options: { maxLimit?: number } = {}): NormalizedEventQuery {
  // A caller may lower the limit (the HTTP routes' maxLimit), never raise it past MAX_LIMIT.
  const maxLimit = Math.min(options.maxLimit ?? MAX_LIMIT, MAX_LIMIT);
  const issues: ValidationIssue[] = [];
  const input = readOwnFields(query, issues);
  const normalized: { -readonly [K in keyof NormalizedEventQuery]: NormalizedEventQuery[K] } = { limit: DEFAULT_LIMIT };

  for (const field of CORRELATION_FIELDS) {
    const value = readIdFilter(input.get(field), field, issues);
    if (value) normalized[field] = value;
  }
  const eventTypes = readEventTypes(input.get("event_type"), issues);
  if (eventTypes) normalized.event_types = eventTypes;
  for (const bound of ["since", "until"] as const) {
    const value = input.get(bound);
    if (value === undefined || value === "") continue;
    const timestamp = normalizeTimestamp(value);
    if (timestamp === null) {
      issues.push({
        path: [bound],
        message: `must be an ISO-8601 timestamp such as 2026-11-24T10:15:30Z, got ${showValue(value)}`,
      });
    } else normalized[bound] = timestamp;
  }
  if (normalized.since !== undefined && normalized.until !== undefined && normalized.since >= normalized.until) {
    issues.push({
      path: ["until"],
      message: `must be later than since (${normalized.since}), got ${normalized.until}; the window would be empty`,
    });
  }
  for (const cursor of ["after", "before"] as const) {
    const value = input.get(cursor);
    if (value === undefined || value === "") continue;
    if (isUuid(value)) normalized[cursor] = value.toLowerCase();
    else
      issues.push({
        path: [cursor],
        message: `must be the event_id (a UUID) of a stored event, got ${showValue(value)}`,
      });
  }
  if (normalized.after !== undefined && normalized.before !== undefined) {
    issues.push({ path: ["before"], message: "cannot be combined with after; page with one cursor at a time" });
  }
  const limit = input.get("limit");
  if (limit !== undefined) {
    if (typeof limit === "number" && Number.isInteger(limit) && limit >= 1 && limit <= maxLimit)
      normalized.limit = limit;
    else issues.push({ path: ["limit"], message: `must be an integer from 1 to ${maxLimit}, got ${showValue(limit)}` });
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return normalized;
}

/**
 * True when an event passes every filter of a normalised query (not the window). Adapters that walk one index use it
 * to check the other filters on each candidate.
 *
 * @example
 * ```ts
 * const page = candidates.filter((event) => matchesQuery(event, query)).slice(0, query.limit);
 * ```
 */
export function matchesQuery(event: Event, query: NormalizedEventQuery): boolean {
  return (
    (query.flow_id === undefined || event.flow_id === query.flow_id) &&
    (query.flow_type === undefined || event.flow_type === query.flow_type) &&
    (query.proposal_id === undefined || event.proposal_id === query.proposal_id) &&
    (query.deal_id === undefined || event.deal_id === query.deal_id) &&
    (query.session_id === undefined || event.session_id === query.session_id) &&
    (query.event_types === undefined || query.event_types.includes(event.event_type)) &&
    (query.since === undefined || event.timestamp >= query.since) &&
    (query.until === undefined || event.timestamp < query.until)
  );
}

/**
 * The error for a cursor id that names no stored event; adapters throw it from `list`.
 *
 * @example
 * ```ts
 * if (seq === undefined) throw unknownCursorError("after", query.after);
 * ```
 */
export function unknownCursorError(cursor: "after" | "before", eventId: string): EventValidationError {
  return EventValidationError.forField(cursor, `no stored event has event_id ${eventId}`);
}

function readIdFilter(value: unknown, field: string, issues: ValidationIssue[]): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") {
    issues.push({ path: [field], message: `must be a string, got ${showValue(value)}` });
  } else if (value.length > MAX_ID_LENGTH) {
    issues.push({ path: [field], message: `must be at most ${MAX_ID_LENGTH} characters, got ${value.length}` });
  } else if (!isPortableString(value)) {
    issues.push({ path: [field], message: PORTABLE_STRING_RULE });
  } else return value;
  return undefined;
}

/**
 * The query's own fields, read once each: a getter that throws, a Proxy whose traps throw or an inherited field
 * becomes an issue naming the field, never a stray `TypeError`. Unknown keys are issues too.
 */
function readOwnFields(query: unknown, issues: ValidationIssue[]): ReadonlyMap<string, unknown> {
  const fields = new Map<string, unknown>();
  if (typeof query !== "object" || query === null) {
    issues.push({ path: [], message: `query must be an object, got ${query === null ? "null" : typeof query}` });
    return fields;
  }
  let keys: (string | symbol)[];
  try {
    if (Array.isArray(query)) throw new TypeError("an array");
    keys = Reflect.ownKeys(query);
  } catch (error) {
    issues.push({ path: [], message: `query must be a readable plain object, got ${describeThrown(error)}` });
    return fields;
  }
  for (const key of keys) {
    if (typeof key === "symbol") continue;
    let descriptor: PropertyDescriptor | undefined;
    try {
      descriptor = Reflect.getOwnPropertyDescriptor(query, key);
      if (descriptor === undefined || !descriptor.enumerable) continue;
      if (!QUERY_KEYS.has(key)) {
        issues.push({
          path: [key],
          message: `is not a query field${didYouMean(key, QUERY_KEYS) || `; use one of ${[...QUERY_KEYS].join(", ")}`}`,
        });
        continue;
      }
      fields.set(key, "value" in descriptor ? descriptor.value : Reflect.get(query, key));
    } catch (error) {
      issues.push({ path: [key], message: `could not be read: ${describeThrown(error)}` });
    }
  }
  return fields;
}

/** The types named by a type, a pattern, or an array mixing both; deduplicated, in the order first named. */
function readEventTypes(value: unknown, issues: ValidationIssue[]): readonly EventType[] | undefined {
  if (value === undefined || value === "") return undefined;
  let list: readonly unknown[];
  let isList: boolean;
  try {
    isList = Array.isArray(value);
    list = isList ? Array.from(value as readonly unknown[]) : [value];
  } catch (error) {
    issues.push({ path: ["event_type"], message: `could not be read: ${describeThrown(error)}` });
    return undefined;
  }
  if (list.length === 0) {
    issues.push({ path: ["event_type"], message: 'must name at least one type or pattern, e.g. "deal.*"' });
    return undefined;
  }
  const types = new Set<EventType>();
  list.forEach((item, index) => {
    const matched = typesMatching(item);
    if (matched !== undefined) for (const type of matched) types.add(type);
    else issues.push({ path: isList ? ["event_type", index] : ["event_type"], message: describeBadPattern(item) });
  });
  // Every type is the same as no type filter; storage then reads no type index.
  if (types.size === 0 || types.size === EVENT_TYPES.length) return undefined;
  return [...types];
}
