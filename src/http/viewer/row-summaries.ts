import { EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import { describeBadType, type EventType, isEventType } from "../../event/event-type.js";

/**
 * The `viewer` option of the HTTP handlers as an object (`viewer: true` is the same as `{}`).
 *
 * @example
 * ```ts
 * const viewer: EventsViewerOptions = {
 *   rowSummaries: { "proposal.received": ["from {advertiser}", "budget {budget_usd:money}"] },
 * };
 * createEventsHandler(bus, { viewer });
 * ```
 */
export interface EventsViewerOptions {
  /**
   * How the page sums up an event of a type in its list row, replacing the built-in summary of that type: parts
   * joined by ` · `, each a text with `{field}` or `{field:format}` holes (`field` a payload path such as
   * `terms.cpm`, or `$deal_id` for an event field; `format` one of `text`, `number`, `money`, `cpm`, `percent`). A
   * part with a missing field is left out. Keep it next to the application's payload schemas.
   */
  readonly rowSummaries?: Readonly<Partial<Record<EventType, readonly string[]>>> | undefined;
}

const VIEWER_OPTION_KEYS: OptionKeys<EventsViewerOptions> = { rowSummaries: true };
/** One hole of a summary part: `{path}` or `{path:format}`. */
const HOLE = /\{([^{}]*)\}/g;
const HOLE_BODY = /^\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::(?:text|number|money|cpm|percent))?$/;
const MAX_PARTS = 8;
const MAX_PART_LENGTH = 200;

/** Checks the `viewer` option once, when the handler is built; returns the row summaries as the page reads them. */
export function readViewerOptions(viewer: true | EventsViewerOptions): Readonly<Record<string, readonly string[]>> {
  if (viewer === true) return {};
  checkOptionKeys(viewer, VIEWER_OPTION_KEYS, "viewer");
  const summaries = viewer.rowSummaries ?? {};
  if (typeof summaries !== "object" || summaries === null || Array.isArray(summaries)) {
    throw EventValidationError.forField("viewer.rowSummaries", "must be an object mapping event types to lists");
  }
  const issues: ValidationIssue[] = [];
  const checked: Record<string, readonly string[]> = {};
  for (const [type, parts] of Object.entries(summaries)) {
    const path = ["viewer", "rowSummaries", type];
    if (!isEventType(type)) issues.push({ path, message: describeBadType(type) });
    else if (!Array.isArray(parts) || parts.length > MAX_PARTS) {
      issues.push({ path, message: `must be a list of at most ${MAX_PARTS} texts such as "budget {budget:money}"` });
    } else {
      for (const [index, part] of (parts as unknown[]).entries()) checkPart(part, [...path, index], issues);
      checked[type] = [...parts];
    }
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return checked;
}

function checkPart(part: unknown, path: (string | number)[], issues: ValidationIssue[]): void {
  if (typeof part !== "string" || part.length === 0 || part.length > MAX_PART_LENGTH) {
    issues.push({ path, message: `must be a text of 1 to ${MAX_PART_LENGTH} characters` });
    return;
  }
  for (const [, body] of part.matchAll(HOLE)) {
    if (!HOLE_BODY.test(body ?? "")) {
      const message = `{${body}} must be {field} or {field:format}, format one of text, number, money, cpm, percent`;
      issues.push({ path, message });
    }
  }
}
