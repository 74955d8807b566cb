import type { CorrelationField, Event } from "../event/event.js";
import { type EventType, type EventTypePattern, typesMatching } from "../event/event-type.js";

/**
 * Describes the events an expectation looks for: a type pattern (`"deal.created"`, `"deal.*"`, `"*"`), or an
 * object whose every given field must match. `payload` and `metadata` match as subsets: each given key must be
 * present with a matching value (objects recursively; arrays and scalars exactly).
 *
 * @example
 * ```ts
 * bus.expectEmitted({ event_type: "deal.*", deal_id: "d-1", payload: { cpm: 12 } });
 * ```
 */
export type EventMatcher =
  | EventTypePattern
  | ({ readonly event_type?: EventTypePattern; readonly event_id?: string; readonly timestamp?: string } & {
      readonly [K in CorrelationField]?: string;
    } & {
      readonly payload?: Readonly<Record<string, unknown>>;
      readonly metadata?: Readonly<Record<string, unknown>>;
    });

/**
 * The pattern a matcher names: itself when it is a pattern, its `event_type` when it gives one, else `"*"`.
 *
 * @example
 * ```ts
 * type Pattern = MatcherPattern<{ event_type: "deal.*"; deal_id: "d-1" }>; // "deal.*"
 * ```
 */
export type MatcherPattern<Matcher> = Matcher extends EventTypePattern
  ? Matcher
  : Matcher extends { readonly event_type: infer Pattern extends EventTypePattern }
    ? Pattern
    : "*";

/** True when `event` satisfies `matcher`. */
export function matchesEvent(event: Event, matcher: EventMatcher): boolean {
  if (typeof matcher === "string") return typeMatches(event.event_type, matcher);
  for (const [key, expected] of Object.entries(matcher)) {
    if (expected === undefined) continue;
    const actual = (event as unknown as Record<string, unknown>)[key];
    if (key === "event_type") {
      if (!typeMatches(event.event_type, expected as string)) return false;
    } else if (!subsetMatches(actual, expected)) return false;
  }
  return true;
}

/** A short, readable description of a matcher for failure messages. */
export function describeMatcher(matcher: EventMatcher): string {
  return typeof matcher === "string" ? `"${matcher}"` : JSON.stringify(matcher);
}

/** One line per event: type, the set correlation fields, payload. */
export function describeEvents(events: readonly Event[], max = 25): string {
  if (events.length === 0) return "  (no events were emitted)";
  const shown = events.slice(-max);
  const lines = shown.map((event, index) => {
    const ids = (["flow_id", "flow_type", "session_id", "proposal_id", "deal_id"] as const)
      .filter((field) => event[field] !== "")
      .map((field) => `${field}=${event[field]}`)
      .join(" ");
    return `  ${events.length - shown.length + index + 1}. ${event.event_type} ${ids} payload=${JSON.stringify(event.payload)}`;
  });
  if (events.length > max) lines.unshift(`  ... ${events.length - max} earlier events not shown`);
  return lines.join("\n");
}

function typeMatches(type: EventType, pattern: string): boolean {
  return typesMatching(pattern)?.includes(type) ?? false;
}

function subsetMatches(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== "object" || expected === null || Array.isArray(expected)) {
    if (Array.isArray(expected)) {
      return (
        Array.isArray(actual) &&
        actual.length === expected.length &&
        expected.every((item, index) => subsetMatches(actual[index], item))
      );
    }
    return Object.is(actual, expected);
  }
  if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
  return Object.entries(expected).every(
    ([key, value]) => Object.hasOwn(actual, key) && subsetMatches((actual as Record<string, unknown>)[key], value),
  );
}
