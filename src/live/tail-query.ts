import { EventValidationError } from "../errors/error-classes.js";
import type { EventTypeFilter } from "../event/event-type.js";
import { type EventQuery, MAX_LIMIT, normalizeEventQuery } from "../event/query.js";
import type { NormalizedEventQuery } from "../storage/types.js";

/**
 * The query of `bus.tail()`: the `listEvents` filters plus `after` to resume. `since` starts at that time when
 * there is no `after`; with neither, the tail starts at the current end of the store.
 *
 * @example
 * ```ts
 * const query: TailQuery = { session_id: "s-1", event_type: ["negotiation.round"], after: lastSeenId };
 * ```
 */
export type TailQuery<Filter extends EventTypeFilter = EventTypeFilter> = Omit<
  EventQuery<Filter>,
  "before" | "until" | "limit"
>;

/**
 * Options of `bus.tail()`.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const options: TailOptions = { signal: controller.signal, batchSize: 200, onError: (error) => log.warn(error) };
 * ```
 */
export interface TailOptions {
  /** Ends the tail: the loop's next step returns instead of waiting. */
  readonly signal?: AbortSignal | undefined;
  /** Events per store read while the tail catches up by its own cursor, 1 to 1000. Default 100. */
  readonly batchSize?: number | undefined;
  /**
   * Receives each store failure while the tail retries it (capped exponential backoff, 0.1 s doubling to 5 s).
   * Default: `console.error`. The tail never ends because of a store outage.
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** The checked form of a tail's query and options. */
export interface TailRequest {
  /** Filters, `after`, `since`, and `limit` = the batch size. */
  readonly query: NormalizedEventQuery;
  readonly signal: AbortSignal | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
}

export const DEFAULT_TAIL_BATCH_SIZE = 100;
const WINDOW_FIELDS = ["before", "until", "limit"] as const;
const OPTION_KEYS: ReadonlySet<string> = new Set(["signal", "batchSize", "onError"]);

/** Validates a tail's query and options, every problem at once, each naming its field. */
export function readTailRequest(query: unknown, options: unknown): TailRequest {
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    throw EventValidationError.forField([], `tail takes a query object, got ${query === null ? "null" : typeof query}`);
  }
  const issues: { path: string[]; message: string }[] = [];
  for (const field of WINDOW_FIELDS) {
    if ((query as Record<string, unknown>)[field] !== undefined) {
      issues.push({
        path: [field],
        message: "is not a tail option: a tail never ends and has no window; use after (or since) to choose the start",
      });
    }
  }
  const given = (options ?? {}) as Record<string, unknown>;
  if (typeof given !== "object" || Array.isArray(given)) {
    throw EventValidationError.forField([], `tail options must be an object, got ${typeof options}`);
  }
  for (const key of Object.keys(given)) {
    if (!OPTION_KEYS.has(key))
      issues.push({ path: [key], message: `is not a tail option; use signal, batchSize or onError` });
  }
  const { signal, batchSize = DEFAULT_TAIL_BATCH_SIZE, onError } = given;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    issues.push({ path: ["signal"], message: "must be an AbortSignal, e.g. new AbortController().signal" });
  }
  if (!(typeof batchSize === "number" && Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= MAX_LIMIT)) {
    issues.push({
      path: ["batchSize"],
      message: `must be an integer from 1 to ${MAX_LIMIT}, got ${String(batchSize)}`,
    });
  }
  if (onError !== undefined && typeof onError !== "function") {
    issues.push({ path: ["onError"], message: `must be a function, got ${typeof onError}` });
  }
  let normalized: NormalizedEventQuery | undefined;
  try {
    const rest = { ...(query as Record<string, unknown>) };
    for (const field of WINDOW_FIELDS) delete rest[field];
    normalized = normalizeEventQuery({ ...rest, limit: issues.length === 0 ? batchSize : 1 });
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    issues.push(...error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })));
  }
  if (issues.length > 0 || normalized === undefined) throw new EventValidationError(issues);
  return {
    query: normalized,
    signal: signal as AbortSignal | undefined,
    onError: onError as ((error: unknown) => void) | undefined,
  };
}

/** The filters of a tail without its start, for matching window entries. */
export function filtersOf(query: NormalizedEventQuery): NormalizedEventQuery {
  const { after: _after, ...filters } = query;
  return filters;
}
