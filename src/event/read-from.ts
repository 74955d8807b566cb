import type { ValidationIssue } from "../errors/error-classes.js";
import { isUuid } from "./event-id.js";
import { showValue } from "./json-value.js";

/**
 * Where a reader starts, in the one vocabulary `tail`, `consume`, webhooks and sinks share: `"start"` (every stored
 * match first), `"end"` (only events appended from now on) or an `event_id` (the events after it, exclusive).
 *
 * @example
 * ```ts
 * const from: ReadFrom = savedPosition ?? "end";
 * for await (const event of bus.tail({ from })) savedPosition = event.event_id;
 * ```
 */
export type ReadFrom = "start" | "end" | (string & {});

/**
 * Reads a `from` option: `fallback` when it is absent, the value itself when it is `"start"`, `"end"` or an event id
 * (lower-cased, as ids are stored), otherwise `fallback` with an issue naming the field.
 */
export function readFromOption(value: unknown, fallback: ReadFrom, issues: ValidationIssue[]): ReadFrom {
  if (value === undefined) return fallback;
  if (value === "start" || value === "end") return value;
  if (isUuid(value)) return value.toLowerCase();
  issues.push({ path: ["from"], message: `must be "start", "end" or an event_id (a UUID), got ${showValue(value)}` });
  return fallback;
}
