import type { ValidationIssue } from "../errors/error-classes.js";
import { CORRELATION_FIELDS } from "../event/event.js";
import type { EventTypePattern } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";
import type { EventQuery } from "../event/query.js";

/** Parameters that take one value; `event_type` is the only one that may repeat. */
const SINGLE_VALUE_KEYS = [...CORRELATION_FIELDS, "since", "until", "after", "before", "limit"] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set([...SINGLE_VALUE_KEYS, "event_type"]);
const DIGITS = /^[0-9]+$/;
/** A time followed by a space and an offset: what `+02:00` becomes after form decoding. */
const SPACED_OFFSET = /[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)? \d{2}(?::?\d{2})?$/;

/** The query of `GET {basePath}`, or every problem found in it. Range and value checks are left to the bus. */
export interface ParsedListQuery {
  /** The parameters that could be read; the others are described in `issues`. */
  readonly query: EventQuery;
  readonly issues: ValidationIssue[];
}

/**
 * Reads a raw query string (without `?`) into an `EventQuery`: form decoding (`+` is a space), unknown keys
 * ignored, `event_type` repeatable and comma-separated (types and patterns, mixed), `limit` digits only, any other key at most once.
 */
export function parseListQuery(raw: string, maxLimit: number): ParsedListQuery {
  const issues: ValidationIssue[] = [];
  const values = new Map<string, string[]>();
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const key = decodeFormComponent(equals < 0 ? pair : pair.slice(0, equals));
    if (key === undefined) {
      issues.push({ path: [], message: "a parameter name is not valid percent-encoded UTF-8" });
      continue;
    }
    if (!KNOWN_KEYS.has(key)) continue;
    const value = decodeFormComponent(equals < 0 ? "" : pair.slice(equals + 1));
    if (value === undefined) {
      issues.push({ path: [key], message: "is not valid percent-encoded UTF-8" });
      continue;
    }
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  const query: Record<string, unknown> = {};
  for (const key of SINGLE_VALUE_KEYS) {
    const given = values.get(key);
    if (given === undefined) continue;
    if (given.length > 1) {
      issues.push({ path: [key], message: `must be given at most once, got ${given.length} values` });
      continue;
    }
    const value = given[0] as string;
    if (key === "limit") readLimit(value, maxLimit, query, issues);
    else if ((key === "since" || key === "until") && SPACED_OFFSET.test(value)) {
      // A `+` in a query string decodes to a space, which silently breaks `+02:00` offsets.
      issues.push({ path: [key], message: `${timestampHint(value)}; write a "+" offset as %2B, or use Z` });
    } else query[key] = value;
  }
  const types = values.get("event_type");
  if (types !== undefined) {
    const list = types.flatMap((value) => value.split(",")).map((type) => type.trim());
    const named = list.filter((type) => type !== "");
    if (named.length > 0) query.event_type = named as EventTypePattern[];
  }
  return { query, issues };
}

function readLimit(value: string, maxLimit: number, query: Record<string, unknown>, issues: ValidationIssue[]): void {
  // Number() would take "1e3", "0x10", " 5" or "" (as 0); the contract is decimal digits only.
  // The limit is checked here, against this handler's maxLimit: the bus knows only the library's MAX_LIMIT.
  const limit = DIGITS.test(value) ? Number(value) : undefined;
  if (limit !== undefined && limit >= 1 && limit <= maxLimit) query.limit = limit;
  else {
    const shown = limit === undefined ? showValue(value) : String(limit);
    issues.push({ path: ["limit"], message: `must be an integer from 1 to ${maxLimit}, got ${shown}` });
  }
}

function timestampHint(value: string): string {
  return `must be an ISO-8601 timestamp such as 2026-11-24T10:15:30Z, got ${showValue(value)}`;
}

/** Form decoding of one key or value: `+` is a space, then percent-decoding; `undefined` when it is not UTF-8. */
export function decodeFormComponent(raw: string): string | undefined {
  const spaced = raw.includes("+") ? raw.replaceAll("+", " ") : raw;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}
