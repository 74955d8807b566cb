import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import { readOptionValues } from "../errors/read-options.js";
import type { EventTypeFilter } from "../event/event-type.js";
import { describeThrown } from "../event/json-value.js";
import { type EventQuery, MAX_LIMIT, normalizeEventQuery } from "../event/query.js";
import { type ReadFrom, readFromOption } from "../event/read-from.js";
import type { NormalizedEventQuery } from "../storage/types.js";

/**
 * The query of `bus.tail()`: the `listEvents` filters plus where to start. `from` is `"end"` (the default: events
 * appended from now on), `"start"` (every stored match first) or an `event_id` to resume after (exclusive, the same
 * as `after`, which stays the cursor name `listEvents` uses). `since` starts at that time instead.
 *
 * @example
 * ```ts
 * const query: TailQuery = { session_id: "s-1", event_type: ["negotiation.round"], from: lastSeenId };
 * ```
 */
export type TailQuery<Filter extends EventTypeFilter = EventTypeFilter> = Omit<
  EventQuery<Filter>,
  "before" | "until" | "limit"
> & { readonly from?: ReadFrom | undefined };

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
   * Default: the bus's `onError`, as `{ source: "tail", error }`. The tail never ends because of a store outage. With `onGap: "oldest"` it also
   * receives each `EventGapError` the tail skipped.
   */
  readonly onError?: ((error: unknown) => void) | undefined;
  /**
   * What a pruned cursor does (retention deleted the event the tail would resume after): `"fail"` (default) ends
   * the tail by throwing the `EventGapError` from `next()`; `"oldest"` reports it to `onError` and reads on from
   * the oldest retained match.
   */
  readonly onGap?: "fail" | "oldest" | undefined;
}

/** The checked form of a tail's query and options. */
export interface TailRequest {
  /** Filters, `after`, `since`, and `limit` = the batch size. */
  readonly query: NormalizedEventQuery;
  readonly signal: AbortSignal | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
  readonly onGap: "fail" | "oldest";
  /** `from: "start"`: read every stored match first. */
  readonly fromStart: boolean;
}

export const DEFAULT_TAIL_BATCH_SIZE = 100;
const WINDOW_FIELDS = ["before", "until", "limit"] as const;
const OPTION_KEYS: OptionKeys<TailOptions> = { signal: true, batchSize: true, onError: true, onGap: true };

/** Validates a tail's query and options, every problem at once, each naming its field. */
export function readTailRequest(query: unknown, options: unknown): TailRequest {
  if (typeof query !== "object" || query === null || Array.isArray(query)) {
    throw EventValidationError.forField([], `tail takes a query object, got ${query === null ? "null" : typeof query}`);
  }
  const issues: { path: string[]; message: string }[] = [];
  const rest = copyQuery(query);
  for (const field of WINDOW_FIELDS) {
    if (rest[field] !== undefined) {
      issues.push({
        path: [field],
        message: "is not a tail option: a tail never ends and has no window; use from (or since) to choose the start",
      });
    }
    delete rest[field];
  }
  const fromStart = readFrom(rest, issues);
  checkOptionKeys(options ?? {}, OPTION_KEYS, "tail");
  const {
    signal,
    batchSize = DEFAULT_TAIL_BATCH_SIZE,
    onError,
    onGap = "fail",
  } = readOptionValues(options ?? {}, Object.keys(OPTION_KEYS));
  if (onGap !== "fail" && onGap !== "oldest") {
    issues.push({ path: ["onGap"], message: `must be "fail" or "oldest", got ${String(onGap)}` });
  }
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
    onGap: onGap as "fail" | "oldest",
    fromStart,
  };
}

/** An own copy of the query's fields, so that a throwing getter or a Proxy trap is read once and named. */
function copyQuery(query: object): Record<string, unknown> {
  try {
    return { ...(query as Record<string, unknown>) };
  } catch (error) {
    throw EventValidationError.forField([], `the tail query could not be read: ${describeThrown(error)}`);
  }
}

/**
 * `from` (one vocabulary with `consume`): `"start"` reads every stored match first, `"end"` (the default) starts at
 * the current end, an `event_id` resumes after it like `after`. True for `"start"`.
 */
function readFrom(query: Record<string, unknown>, issues: ValidationIssue[]): boolean {
  const given = query.from;
  delete query.from;
  if (given === undefined) return false;
  const from = readFromOption(given, "end", issues);
  if (from === "end") return false;
  if (from === "start") return query.after === undefined && query.since === undefined;
  if (query.after === undefined) query.after = from;
  else issues.push({ path: ["from"], message: "and after both name a start: give one of them" });
  return false;
}

/** The filters of a tail without its start, for matching window entries. */
export function filtersOf(query: NormalizedEventQuery): NormalizedEventQuery {
  const { after: _after, ...filters } = query;
  return filters;
}
