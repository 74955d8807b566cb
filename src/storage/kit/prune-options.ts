import { EventValidationError } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import { AUDIT_EVENT_TYPES, EVENT_TYPES, type EventType, isEventType } from "../../event/event-type.js";
import { showValue } from "../../event/json-value.js";
import { normalizeTimestamp } from "../../event/timestamp.js";
import type { PruneHold, PruneOptions } from "../types.js";

/** Default number of events one prune batch deletes: small enough that a waiting append waits milliseconds. */
export const DEFAULT_PRUNE_BATCH = 1000;

/** A consumer not seen for this long (7 days) stops holding retention back. */
export const DEFAULT_STALE_CONSUMER_MS = 7 * 24 * 60 * 60 * 1000;

/** {@link PruneOptions} checked and filled in, as every adapter's `prune` uses them. */
export interface ResolvedPrune {
  /** Canonical timestamp; events stamped before it (exclusive) go. */
  readonly before: string;
  /** Types to delete, never empty. */
  readonly types: readonly EventType[];
  readonly batchSize: number;
  /** Called after each batch with the running total, for progress logs. */
  readonly onBatch: ((deletedSoFar: number) => void) | undefined;
  /** Whether live durable consumers hold back what they have not handled. */
  readonly consumers: "hold" | "ignore";
  readonly staleConsumerMs: number;
  /** Canonical timestamp staleness is judged at. */
  readonly now: string;
  /** Count, do not delete. */
  readonly dryRun: boolean;
  readonly onHold: ((holds: readonly PruneHold[]) => void) | undefined;
}

const PRUNE_OPTION_KEYS: OptionKeys<PruneOptions> = {
  before: true,
  types: true,
  batchSize: true,
  onBatch: true,
  consumers: true,
  staleConsumerMs: true,
  now: true,
  dryRun: true,
  onHold: true,
};

/** Validates prune options the way the bus validates a query: every problem in one `EventValidationError`. */
export function resolvePruneOptions(given: PruneOptions): ResolvedPrune {
  // An unknown key (`typez`) must not fall back to the default types and delete.
  const options = readOptions(given, PRUNE_OPTION_KEYS, "prune");
  const issues: { path: (string | number)[]; message: string }[] = [];
  const before = normalizeTimestamp(options.before);
  if (before === null) {
    issues.push({ path: ["before"], message: "must be an ISO-8601 timestamp or a Date: events stamped before it go" });
  }
  const auditTypes = new Set<EventType>(AUDIT_EVENT_TYPES);
  const types = options.types ?? EVENT_TYPES.filter((type) => !auditTypes.has(type));
  if (!Array.isArray(types) || types.length === 0) {
    issues.push({ path: ["types"], message: "must be a non-empty array of event types" });
  } else {
    types.forEach((type, index) => {
      if (!isEventType(type))
        issues.push({ path: ["types", index], message: `${showValue(type)} is not an event type` });
    });
  }
  const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 100_000)) {
    issues.push({ path: ["batchSize"], message: `must be an integer from 1 to 100000, got ${showValue(batchSize)}` });
  }
  for (const key of ["onBatch", "onHold"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "function") {
      issues.push({ path: [key], message: "must be a function" });
    }
  }
  const holds = readHoldOptions(options, issues);
  if (issues.length > 0) throw new EventValidationError(issues);
  return {
    before: before as string,
    types: [...new Set(types)],
    batchSize,
    onBatch: options.onBatch,
    onHold: options.onHold,
    ...holds,
  };
}

/** The consumer-hold and dry-run options, with their problems pushed onto `issues`. */
function readHoldOptions(options: PruneOptions, issues: { path: (string | number)[]; message: string }[]) {
  const consumers = options.consumers ?? "hold";
  if (consumers !== "hold" && consumers !== "ignore") {
    issues.push({ path: ["consumers"], message: `must be "hold" or "ignore", got ${showValue(consumers)}` });
  }
  const staleConsumerMs = options.staleConsumerMs ?? DEFAULT_STALE_CONSUMER_MS;
  if (!(Number.isSafeInteger(staleConsumerMs) && staleConsumerMs >= 0)) {
    issues.push({
      path: ["staleConsumerMs"],
      message: `must be a whole number of ms, got ${showValue(staleConsumerMs)}`,
    });
  }
  const now = options.now === undefined ? new Date().toISOString() : normalizeTimestamp(options.now);
  if (now === null) issues.push({ path: ["now"], message: "must be an ISO-8601 timestamp or a Date" });
  const dryRun = options.dryRun ?? false;
  if (typeof dryRun !== "boolean")
    issues.push({ path: ["dryRun"], message: `must be a boolean, got ${showValue(dryRun)}` });
  return { consumers, staleConsumerMs, now: now as string, dryRun };
}

/** Lets other work (an append waiting on this process's event loop) run between two prune batches. */
export function yieldToAppends(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
