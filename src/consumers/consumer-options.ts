import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import { readOptionValues } from "../errors/read-options.js";
import type { Event } from "../event/event.js";
import type { EventTypeFilter } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";
import { type EventQuery, normalizeEventQuery } from "../event/query.js";
import { type ReadFrom, readFromOption } from "../event/read-from.js";
import type { NormalizedEventQuery } from "../storage/types.js";

/**
 * The handler of a consumer: gets each batch of matching events in append order. The checkpoint advances only once
 * it returns (or its promise resolves); a throw, a rejection or a timeout is a failed attempt (see `retry`).
 *
 * @example
 * ```ts
 * const handler: ConsumerHandler = async (events, { signal }) => {
 *   await fetch("https://warehouse.example/rows", { method: "POST", body: JSON.stringify(events), signal });
 * };
 * ```
 */
export type ConsumerHandler<Handled = Event> = (events: readonly Handled[], context: ConsumerHandlerContext) => unknown;

/**
 * What a handler gets beside the batch.
 *
 * @example
 * ```ts
 * bus.consume("crm", async (events, { attempt, signal }) => crm.push(events, { signal, retry: attempt > 1 }));
 * ```
 */
export interface ConsumerHandlerContext {
  /** Aborted when this attempt times out, the lease is lost or the consumer stops: stop work, it will not count. */
  readonly signal: AbortSignal;
  /** 1 for the first try of this batch, 2 for the first retry, ... */
  readonly attempt: number;
}

/**
 * How a failed batch is retried: `attempts` tries in all (the first included), waiting an exponentially growing,
 * jittered delay between them.
 *
 * @example
 * ```ts
 * const retry: ConsumerRetryOptions = { attempts: 8, initialDelayMs: 500, maxDelayMs: 60_000 };
 * ```
 */
export interface ConsumerRetryOptions {
  /** Tries per batch, the first included; 1 means no retry. Default 5. */
  readonly attempts?: number | undefined;
  /** Delay before the first retry, in ms; doubled each time. Default 200. */
  readonly initialDelayMs?: number | undefined;
  /** Largest delay between tries, in ms. Default 10,000. */
  readonly maxDelayMs?: number | undefined;
}

/**
 * Options of `bus.consume()`; all optional.
 *
 * @example
 * ```ts
 * const options: ConsumeOptions = { query: { event_type: "deal.created" }, batchSize: 100, onFailure: "skip" };
 * ```
 */
export interface ConsumeOptions<Filter extends EventTypeFilter = EventTypeFilter> {
  /** Which events: the `listEvents` filters (no `after`, `before` or `limit`). Default: every event. */
  readonly query?: Omit<EventQuery<Filter>, "after" | "before" | "limit"> | undefined;
  /**
   * Where a name without a checkpoint starts: `"start"` (default: every stored match), `"end"` (only events
   * appended from now on) or an `event_id` (the events after it). Ignored once the name has a checkpoint.
   */
  readonly from?: ReadFrom | undefined;
  /** Most events per handler call, 1..10,000. Default 100. */
  readonly batchSize?: number | undefined;
  /** Lease duration in ms, at least 1,000: how long a standby waits after the active instance dies. Default 10,000. */
  readonly leaseMs?: number | undefined;
  /** How failed batches are retried. */
  readonly retry?: ConsumerRetryOptions | undefined;
  /** After the last attempt: `"stop"` (default: state `failed`) or `"skip"` (dead-letter the event and go on). */
  readonly onFailure?: "stop" | "skip" | undefined;
  /** A handler call that has not settled after this many ms counts as a failed attempt. Default: no limit. */
  readonly handlerTimeoutMs?: number | undefined;
  /** Stops the consumer when aborted (like `stop()`). */
  readonly signal?: AbortSignal | undefined;
  /**
   * What a pruned checkpoint does (retention deleted the events after it): `"fail"` (default: state `failed`,
   * `last_error` the `EventGapError`, lag visible) or `"oldest"` (go on from the oldest retained match and record
   * the skipped range in `status().gaps`).
   */
  readonly onGap?: "fail" | "oldest" | undefined;
  /**
   * Told of every failure the consumer records in `last_error` (a handler attempt, with `event` when the call held
   * one event; a store or lease failure; a gap) and of the consumer failing. Default: the bus's `onError`.
   */
  readonly onError?: ((error: unknown, event?: Event) => void) | undefined;
}

/** Options after validation, with defaults applied. */
export interface ConsumerSettings {
  readonly name: string;
  readonly handler: ConsumerHandler;
  readonly query: Omit<NormalizedEventQuery, "limit">;
  readonly from: ReadFrom;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly onFailure: "stop" | "skip";
  readonly handlerTimeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onGap: "fail" | "oldest";
  readonly onError: ((error: unknown, event?: Event) => void) | undefined;
}

/** Longest consumer name accepted (it becomes a key or a primary key in the store). */
export const MAX_CONSUMER_NAME_LENGTH = 200;
export const MAX_BATCH_SIZE = 10_000;
export const MIN_LEASE_MS = 1_000;
export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_RETRY = Object.freeze({ attempts: 5, initialDelayMs: 200, maxDelayMs: 10_000 });

/** The options of a durable reader that `forwardEvents` passes on to `consume` as they are. */
export const DURABLE_READER_OPTION_KEYS: OptionKeys<Omit<ConsumeOptions, "handlerTimeoutMs">> = {
  query: true,
  from: true,
  batchSize: true,
  leaseMs: true,
  retry: true,
  onFailure: true,
  signal: true,
  onGap: true,
  onError: true,
};
const OPTION_KEYS: OptionKeys<ConsumeOptions> = { ...DURABLE_READER_OPTION_KEYS, handlerTimeoutMs: true };
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
const RETRY_KEYS = new Set(["attempts", "initialDelayMs", "maxDelayMs"]);
const MAX_DELAY_MS = 2_147_483_647; // setTimeout's limit

/** Validates `consume()`'s arguments; every problem is reported at once, each naming its option. */
export function readConsumerSettings(name: unknown, handler: unknown, options: unknown = {}): ConsumerSettings {
  const issues: ValidationIssue[] = [];
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_CONSUMER_NAME_LENGTH) {
    const got = typeof name === "string" ? `${name.length} characters` : typeof name;
    issues.push({
      path: ["name"],
      message: `must be a string of 1 to ${MAX_CONSUMER_NAME_LENGTH} characters, got ${got}`,
    });
  } else if (CONTROL_CHARACTER.test(name)) {
    // PostgreSQL text cannot hold U+0000, and a name is a key in every store and a line in logs.
    issues.push({
      path: ["name"],
      message: "must not contain NUL or other control characters; use letters, digits, - _ . :",
    });
  }
  if (typeof handler !== "function") {
    issues.push({
      path: ["handler"],
      message: `must be a function, got ${handler === null ? "null" : typeof handler}`,
    });
  }
  try {
    checkOptionKeys(options, OPTION_KEYS, "consume");
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    issues.push(...error.issues);
    if (typeof options !== "object" || options === null || Array.isArray(options))
      throw new EventValidationError(issues);
  }
  const input = readOptionValues(options as object, Object.keys(OPTION_KEYS));
  const retry = readRetry(input.retry, issues);
  const settings = {
    name: name as string,
    handler: handler as ConsumerHandler,
    query: readQuery(input.query, issues),
    from: readFromOption(input.from, "start", issues),
    batchSize: readInteger(input.batchSize, "batchSize", DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE, issues),
    leaseMs: readInteger(input.leaseMs, "leaseMs", DEFAULT_LEASE_MS, MIN_LEASE_MS, MAX_DELAY_MS, issues),
    ...retry,
    onFailure: readOnFailure(input.onFailure, issues),
    handlerTimeoutMs:
      input.handlerTimeoutMs === undefined
        ? undefined
        : readInteger(input.handlerTimeoutMs, "handlerTimeoutMs", 0, 1, MAX_DELAY_MS, issues),
    signal: readSignal(input.signal, issues),
    onGap: readOnGap(input.onGap, issues),
    onError: readOnError(input.onError, issues),
  };
  if (issues.length > 0) throw new EventValidationError(issues);
  return settings;
}

function readQuery(value: unknown, issues: ValidationIssue[]): Omit<NormalizedEventQuery, "limit"> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    issues.push({ path: ["query"], message: "must be an object of listEvents filters" });
    return {};
  }
  for (const window of ["after", "before", "limit"]) {
    if ((value as Record<string, unknown>)[window] !== undefined) {
      issues.push({
        path: ["query", window],
        message: "is not a consumer filter; the consumer moves its own cursor (see from)",
      });
    }
  }
  try {
    const { limit: _limit, after: _after, before: _before, ...filters } = normalizeEventQuery(value);
    return filters;
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    for (const issue of error.issues) {
      if (!["after", "before", "limit"].includes(String(issue.path[0])))
        issues.push({ ...issue, path: ["query", ...issue.path] });
    }
    return {};
  }
}

function readRetry(
  value: unknown,
  issues: ValidationIssue[],
): Pick<ConsumerSettings, "attempts" | "initialDelayMs" | "maxDelayMs"> {
  if (value === undefined) return DEFAULT_RETRY;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    issues.push({
      path: ["retry"],
      message: "must be an object such as { attempts: 5, initialDelayMs: 200, maxDelayMs: 10000 }",
    });
    return DEFAULT_RETRY;
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!RETRY_KEYS.has(key))
      issues.push({ path: ["retry", key], message: `is not a retry option; use one of ${[...RETRY_KEYS].join(", ")}` });
  }
  const attempts = readInteger(input.attempts, "retry.attempts", DEFAULT_RETRY.attempts, 1, 1_000, issues);
  const initialDelayMs = readInteger(
    input.initialDelayMs,
    "retry.initialDelayMs",
    DEFAULT_RETRY.initialDelayMs,
    0,
    MAX_DELAY_MS,
    issues,
  );
  const maxDelayMs = readInteger(
    input.maxDelayMs,
    "retry.maxDelayMs",
    Math.max(DEFAULT_RETRY.maxDelayMs, initialDelayMs),
    0,
    MAX_DELAY_MS,
    issues,
  );
  if (maxDelayMs < initialDelayMs)
    issues.push({
      path: ["retry", "maxDelayMs"],
      message: `must be at least initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`,
    });
  return { attempts, initialDelayMs, maxDelayMs };
}

function readOnFailure(value: unknown, issues: ValidationIssue[]): "stop" | "skip" {
  if (value === undefined || value === "stop" || value === "skip") return value ?? "stop";
  issues.push({ path: ["onFailure"], message: `must be "stop" or "skip", got ${showValue(value)}` });
  return "stop";
}

function readOnGap(value: unknown, issues: ValidationIssue[]): "fail" | "oldest" {
  if (value === undefined || value === "fail" || value === "oldest") return value ?? "fail";
  issues.push({ path: ["onGap"], message: `must be "fail" or "oldest", got ${showValue(value)}` });
  return "fail";
}

function readSignal(value: unknown, issues: ValidationIssue[]): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  issues.push({ path: ["signal"], message: `must be an AbortSignal, got ${showValue(value)}` });
  return undefined;
}

function readInteger(
  value: unknown,
  option: string,
  fallback: number,
  min: number,
  max: number,
  issues: ValidationIssue[],
): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
  issues.push({
    path: option.split("."),
    message: `must be an integer from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}, got ${showValue(value)}`,
  });
  return fallback;
}

function readOnError(value: unknown, issues: ValidationIssue[]): ConsumerSettings["onError"] {
  if (value === undefined || typeof value === "function") return value as ConsumerSettings["onError"];
  issues.push({ path: ["onError"], message: `must be a function, got ${showValue(value)}` });
  return undefined;
}
