import type { ErrorReporter } from "../bus/bus-errors.js";
import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import { describeThrown, showValue } from "../event/json-value.js";
import type { WebhookLookup } from "./webhook-network.js";

/**
 * The retry schedule of one delivery: `attempts` tries in all (the first included); before try `n + 1` the
 * dispatcher waits `min(maxDelayMs, initialDelayMs * 2^(n-1))`, jittered to 50-100 % of that.
 *
 * @example
 * ```ts
 * const retry: WebhookRetryOptions = { attempts: 8, initialDelayMs: 1_000, maxDelayMs: 600_000 };
 * ```
 */
export interface WebhookRetryOptions {
  /** Tries per event, the first included, 1..100. Default 15 (about 3 to 5.5 hours of retrying in all). */
  readonly attempts?: number | undefined;
  /** Wait before the first retry, in ms. Default 5,000. */
  readonly initialDelayMs?: number | undefined;
  /** Longest wait between tries, in ms. Default 3,600,000 (one hour). */
  readonly maxDelayMs?: number | undefined;
}

/**
 * When a subscription is disabled by itself: after `failures` failed attempts in a row (across events) that span
 * at least `windowMs` from the first to the last.
 *
 * @example
 * ```ts
 * const autoDisable: WebhookAutoDisableOptions = { failures: 10, windowMs: 3_600_000 };
 * ```
 */
export interface WebhookAutoDisableOptions {
  /** Failed attempts in a row, at least 1. Default 10. */
  readonly failures?: number | undefined;
  /** Shortest time those failures must span, in ms. Default 3,600,000 (one hour). */
  readonly windowMs?: number | undefined;
}

/**
 * What the dispatcher reports to `onError`: an auto-disable, or a store failure while managing subscriptions.
 *
 * @example
 * ```ts
 * const onError = (report: WebhookErrorReport) => log.warn(report.subscription_id, report.error);
 * ```
 */
export interface WebhookErrorReport {
  readonly source: "webhook";
  readonly error: unknown;
  readonly subscription_id: string | null;
}

/**
 * Options of `createWebhookDispatcher`; all optional.
 *
 * @example
 * ```ts
 * const options: WebhookDispatcherOptions = { timeoutMs: 5_000, retry: { attempts: 10 }, maxConcurrency: 20 };
 * ```
 */
export interface WebhookDispatcherOptions {
  /** False: manage subscriptions only (an admin process) and leave delivery to the fleet's other dispatchers. */
  readonly deliver?: boolean | undefined;
  /** Deliver to private, loopback and link-local addresses too (an internal network, tests). Default false. */
  readonly allowPrivateNetworks?: boolean | undefined;
  /** The retry schedule of each event. */
  readonly retry?: WebhookRetryOptions | undefined;
  /** Per attempt, from resolving the name to the end of the answer, in ms. Default 10,000. */
  readonly timeoutMs?: number | undefined;
  /** Most bytes of an answer read and kept in the log. Default 1,024. */
  readonly maxResponseBytes?: number | undefined;
  /** When a failing subscription disables itself, or `false` for never. */
  readonly autoDisable?: WebhookAutoDisableOptions | false | undefined;
  /** Most requests in flight across every subscription (each subscription has at most one). Default 64. */
  readonly maxConcurrency?: number | undefined;
  /** Events a subscription's consumer reads per batch: the most sent again after a crash. Default 20. */
  readonly batchSize?: number | undefined;
  /** Lease of each subscription's consumer, in ms (see `bus.consume`). Default 10,000. */
  readonly leaseMs?: number | undefined;
  /** How often subscriptions changed by other processes are picked up, in ms. Default 5,000. */
  readonly refreshMs?: number | undefined;
  /** Delivery log entries kept per subscription (the newest). Default 1,000. */
  readonly logLimit?: number | undefined;
  /** Resolves host names (default: the system resolver); every answer is checked before connecting. */
  readonly lookup?: WebhookLookup | undefined;
  /**
   * Told of auto-disables, events whose every delivery attempt failed, and failures to read subscriptions.
   * Default: the bus's `onError`, as `{ source: "webhook", error }`.
   */
  readonly onError?: ((report: WebhookErrorReport) => void) | undefined;
  /** Closes the dispatcher when aborted. */
  readonly signal?: AbortSignal | undefined;
}

/** Options after validation, with defaults applied. */
export interface WebhookSettings {
  readonly deliver: boolean;
  readonly allowPrivateNetworks: boolean;
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly autoDisable: { readonly failures: number; readonly windowMs: number } | false;
  readonly maxConcurrency: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly refreshMs: number;
  readonly logLimit: number;
  readonly lookup: WebhookLookup | undefined;
  readonly onError: (report: WebhookErrorReport) => void;
  readonly signal: AbortSignal | undefined;
}

const OPTION_KEYS: OptionKeys<WebhookDispatcherOptions> = {
  deliver: true,
  allowPrivateNetworks: true,
  retry: true,
  timeoutMs: true,
  maxResponseBytes: true,
  autoDisable: true,
  maxConcurrency: true,
  batchSize: true,
  leaseMs: true,
  refreshMs: true,
  logLimit: true,
  lookup: true,
  onError: true,
  signal: true,
};
const RETRY_KEYS: OptionKeys<WebhookRetryOptions> = { attempts: true, initialDelayMs: true, maxDelayMs: true };
const AUTO_DISABLE_KEYS: OptionKeys<WebhookAutoDisableOptions> = { failures: true, windowMs: true };
const DAY_MS = 86_400_000;
const TIMER_MAX_MS = 2_147_483_647;

/** Validates `createWebhookDispatcher`'s options; every problem is reported at once, each naming its option. */
export function readWebhookSettings(options: unknown, reporter: ErrorReporter): WebhookSettings {
  const input = readOptions<WebhookDispatcherOptions>(options, OPTION_KEYS, "createWebhookDispatcher");
  const issues: ValidationIssue[] = [];
  const int = (value: unknown, path: string, fallback: number, min: number, max: number) =>
    readBoundedInteger(value, path, fallback, [min, max], issues);
  const retry = readSection(input.retry, RETRY_KEYS, "retry");
  const initialDelayMs = int(retry.initialDelayMs, "retry.initialDelayMs", 5_000, 0, DAY_MS);
  const disable =
    input.autoDisable === false ? false : readSection(input.autoDisable, AUTO_DISABLE_KEYS, "autoDisable");
  const settings: WebhookSettings = {
    deliver: input.deliver === undefined ? true : readFlag(input.deliver, "deliver", issues),
    allowPrivateNetworks: readFlag(input.allowPrivateNetworks, "allowPrivateNetworks", issues),
    attempts: int(retry.attempts, "retry.attempts", 15, 1, 100),
    initialDelayMs,
    maxDelayMs: int(retry.maxDelayMs, "retry.maxDelayMs", Math.max(3_600_000, initialDelayMs), initialDelayMs, DAY_MS),
    timeoutMs: int(input.timeoutMs, "timeoutMs", 10_000, 1, 600_000),
    maxResponseBytes: int(input.maxResponseBytes, "maxResponseBytes", 1_024, 1, 1_048_576),
    autoDisable: disable && {
      failures: int(disable.failures, "autoDisable.failures", 10, 1, 1_000_000),
      windowMs: int(disable.windowMs, "autoDisable.windowMs", 3_600_000, 0, 30 * DAY_MS),
    },
    maxConcurrency: int(input.maxConcurrency, "maxConcurrency", 64, 1, 10_000),
    batchSize: int(input.batchSize, "batchSize", 20, 1, 1_000),
    leaseMs: int(input.leaseMs, "leaseMs", 10_000, 1_000, TIMER_MAX_MS),
    refreshMs: int(input.refreshMs, "refreshMs", 5_000, 10, TIMER_MAX_MS),
    logLimit: int(input.logLimit, "logLimit", 1_000, 1, 1_000_000),
    lookup: readFunction(input.lookup, "lookup", issues) as WebhookLookup | undefined,
    onError: reporter.route(
      "webhook",
      readFunction(input.onError, "onError", issues) as WebhookDispatcherOptions["onError"],
      ({ error }: WebhookErrorReport) => ({ error }),
    ),
    signal: input.signal,
  };
  if (input.signal !== undefined && !(input.signal instanceof AbortSignal))
    issues.push({ path: ["signal"], message: `must be an AbortSignal, got ${showValue(input.signal)}` });
  if (issues.length > 0) throw new EventValidationError(issues);
  return settings;
}

/** Checks a nested options object's keys; `undefined` reads as empty. */
function readSection<T>(value: T | undefined, keys: Readonly<Record<string, true>>, name: string): Partial<T> {
  if (value === undefined) return {};
  try {
    return readOptions<T>(value, keys, name);
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    throw new EventValidationError(error.issues.map((issue) => ({ ...issue, path: [name, ...issue.path] })));
  }
}

/**
 * Checks an options object's keys and copies its own fields once, so that a throwing getter or a hostile Proxy
 * becomes an `EventValidationError` here and later reads see plain values.
 */
export function readOptions<T>(value: unknown, keys: Readonly<Record<string, true>>, where: string): T {
  checkOptionKeys(value, keys, where);
  try {
    return { ...(value as T) };
  } catch (error) {
    throw EventValidationError.forField([], `${where} options could not be read: ${describeThrown(error)}`);
  }
}

/** An integer within `[min, max]`, or the fallback when absent; anything else is an issue naming `path`. */
export function readBoundedInteger(
  value: unknown,
  path: string,
  fallback: number,
  [min, max]: readonly [number, number],
  issues: ValidationIssue[],
): number {
  if (value === undefined) return fallback;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
  issues.push({ path: path.split("."), message: `must be an integer from ${min} to ${max}, got ${showValue(value)}` });
  return fallback;
}

function readFlag(value: unknown, path: string, issues: ValidationIssue[]): boolean {
  if (value === undefined || typeof value === "boolean") return value ?? false;
  issues.push({ path: [path], message: `must be true or false, got ${showValue(value)}` });
  return false;
}

function readFunction(value: unknown, path: string, issues: ValidationIssue[]): unknown {
  if (value === undefined || typeof value === "function") return value;
  issues.push({ path: [path], message: `must be a function, got ${showValue(value)}` });
  return undefined;
}
