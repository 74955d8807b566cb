import { EventBusError } from "../../errors/error-classes.js";
import type { DigestStore, EventStorage, PruneOptions } from "../types.js";
import { pruneHoldingConsumers } from "./prune-holds.js";
import { resolvePruneOptions } from "./prune-options.js";

/**
 * The digest-store log where each `prune` call records what it is about to delete, before deleting: the audit
 * trail's next digest signs these records, so that verification tells events removed by retention from events
 * removed by someone else.
 *
 * @example
 * ```ts
 * const records = await storage.digests?.range(PRUNE_RECORD_LOG, 0, 100);
 * ```
 */
export const PRUNE_RECORD_LOG = "prune-records";

/**
 * One prune call as recorded (the record's value is this as JSON): the events of `types` stamped before `before`
 * may be gone from then on.
 *
 * @example
 * ```ts
 * const record: PruneRecord = { before: "2026-01-01T00:00:00.000Z", types: ["deal.synced"], recorded_at: now };
 * ```
 */
export interface PruneRecord {
  /** Canonical timestamp: events stamped before it (exclusive) may be deleted. */
  readonly before: string;
  /** The types the prune deletes. */
  readonly types: readonly string[];
  /** When the prune started, ISO-8601 UTC (the process clock). */
  readonly recorded_at: string;
}

/**
 * Gives a store its digest capability and makes its `prune` (when it has one) record each call in
 * {@link PRUNE_RECORD_LOG} first and keep what live durable consumers have not handled (see `prune-holds.ts`).
 * Every built-in adapter's factory ends with it, so each adapter's prune code deletes by age and type alone.
 */
export function withDigests<Storage extends EventStorage>(digests: DigestStore, storage: Storage): Storage {
  const prune = storage.prune;
  if (prune === undefined) return { ...storage, digests };
  return {
    ...storage,
    digests,
    async prune(options: PruneOptions): Promise<number> {
      const settings = resolvePruneOptions(options);
      // A dry run deletes nothing, so it records nothing. The rule recorded is the one asked for: consumers' holds
      // only narrow what goes.
      if (!settings.dryRun) {
        await recordPrune(digests, {
          before: settings.before,
          types: settings.types,
          recorded_at: new Date().toISOString(),
        });
      }
      return pruneHoldingConsumers(storage, prune, settings);
    },
  };
}

/** Appends the record under a fresh key: the clock in milliseconds, or one past the newest key when that is later. */
async function recordPrune(digests: DigestStore, record: PruneRecord): Promise<void> {
  const value = JSON.stringify(record);
  // Two processes pruning in the same millisecond race for a key: the loser takes the next one.
  for (let attempt = 0; attempt < 10; attempt++) {
    const newest = await digests.last(PRUNE_RECORD_LOG);
    const key = Math.max(Date.now(), (newest?.key ?? 0) + 1);
    if (await digests.append(PRUNE_RECORD_LOG, [{ key, value }])) return;
  }
  throw new EventBusError(`${PRUNE_RECORD_LOG}: could not take a key after 10 tries (many concurrent prunes?)`);
}
