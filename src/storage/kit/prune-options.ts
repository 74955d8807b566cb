import { EventValidationError } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import { AUDIT_EVENT_TYPES, EVENT_TYPES, type EventType, isEventType } from "../../event/event-type.js";
import { showValue } from "../../event/json-value.js";
import { normalizeTimestamp } from "../../event/timestamp.js";
import type { PruneOptions } from "../types.js";

/** Default number of events one prune batch deletes: small enough that a waiting append waits milliseconds. */
export const DEFAULT_PRUNE_BATCH = 1000;

/** {@link PruneOptions} checked and filled in, as every adapter's `prune` uses them. */
export interface ResolvedPrune {
  /** Canonical timestamp; events stamped before it (exclusive) go. */
  readonly before: string;
  /** Types to delete, never empty. */
  readonly types: readonly EventType[];
  readonly batchSize: number;
  /** Called after each batch with the running total, for progress logs. */
  readonly onBatch: ((deletedSoFar: number) => void) | undefined;
}

const PRUNE_OPTION_KEYS: OptionKeys<PruneOptions> = { before: true, types: true, batchSize: true, onBatch: true };

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
  if (options.onBatch !== undefined && typeof options.onBatch !== "function") {
    issues.push({ path: ["onBatch"], message: "must be a function" });
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return { before: before as string, types: [...new Set(types)], batchSize, onBatch: options.onBatch };
}

/** Lets other work (an append waiting on this process's event loop) run between two prune batches. */
export function yieldToAppends(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
