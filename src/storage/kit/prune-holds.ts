import { StorageError } from "../../errors/error-classes.js";
import type { EventType } from "../../event/event-type.js";
import type { ConsumerRecord, EventStorage, PruneHold, PruneOptions } from "../types.js";
import type { ResolvedPrune } from "./prune-options.js";

/**
 * How far before its checkpoint event's timestamp a consumer's hold starts. A consumer reads in store order, and an
 * event appended after its checkpoint can carry a slightly older stamp (another writer's clock, a commit that took
 * a while); the shared reader makes the same one-minute allowance.
 */
export const HOLD_SKEW_MS = 60_000;

/** One adapter-level prune run: the types that share an effective `before`. */
interface PruneGroup {
  readonly before: string;
  readonly types: readonly EventType[];
}

/**
 * Runs `prune` (an adapter's own, which deletes by `before` and `types` alone) so that live durable consumers keep
 * what they have not handled: each type is pruned up to the earliest hold of a consumer whose query matches it, or
 * skipped when such a consumer has no usable checkpoint. With `consumers: "ignore"` it is one plain run.
 */
export async function pruneHoldingConsumers(
  storage: EventStorage,
  prune: (options: PruneOptions) => Promise<number>,
  settings: ResolvedPrune,
): Promise<number> {
  const holds = settings.consumers === "ignore" ? [] : await consumerHolds(storage, settings);
  if (holds.length > 0) settings.onHold?.(holds);
  let total = 0;
  for (const group of pruneGroups(settings, holds)) {
    const before = total;
    total += await prune.call(storage, {
      before: group.before,
      types: group.types,
      batchSize: settings.batchSize,
      dryRun: settings.dryRun,
      consumers: "ignore",
      onBatch: settings.onBatch === undefined ? undefined : (deleted) => settings.onBatch?.(before + deleted),
    });
  }
  return total;
}

/** The live consumers whose query matches one of the prune's types, with the instant each one holds from. */
export async function consumerHolds(storage: EventStorage, settings: ResolvedPrune): Promise<PruneHold[]> {
  const checkpoints = storage.checkpoints;
  if (checkpoints === undefined) return [];
  if (checkpoints.listConsumers === undefined) {
    throw new StorageError(
      storage.name,
      "prune",
      new Error(
        "its checkpoint store cannot list consumers, so prune cannot keep what they have not handled; " +
          'pass consumers: "ignore" to prune by age alone',
      ),
    );
  }
  const staleBefore = Date.parse(settings.now) - settings.staleConsumerMs;
  const holds: PruneHold[] = [];
  for (const consumer of await checkpoints.listConsumers()) {
    if (consumer.last_seen === null || Date.parse(consumer.last_seen) < staleBefore) continue;
    const types = matchingTypes(consumer, settings.types);
    if (types.length === 0) continue;
    holds.push({
      name: consumer.name,
      position: consumer.position,
      from: await holdStart(storage, consumer),
      types,
      last_seen: consumer.last_seen,
    });
  }
  return holds;
}

/** The prune's types that the consumer's query can match (its other filters are not looked at: it holds more). */
function matchingTypes(consumer: ConsumerRecord, types: readonly EventType[]): EventType[] {
  const wanted = consumer.query?.event_types;
  if (wanted === undefined) return [...types];
  const set = new Set<EventType>(wanted);
  return types.filter((type) => set.has(type));
}

/** From when the consumer holds: its checkpoint event's stamp less the skew allowance; `null` (everything) without one. */
async function holdStart(storage: EventStorage, consumer: ConsumerRecord): Promise<string | null> {
  if (consumer.position === null) return null;
  // A checkpoint that retention deleted (`consumers: "ignore"`) leaves nothing to date the hold by: keep everything.
  const event = await storage.get(consumer.position).catch(() => null);
  if (event === null) return null;
  return new Date(Date.parse(event.timestamp) - HOLD_SKEW_MS).toISOString();
}

/**
 * The prune split into runs by effective `before`: for each type the earliest of `before` and its holds' starts;
 * a type held from `null` is left out.
 */
export function pruneGroups(settings: ResolvedPrune, holds: readonly PruneHold[]): PruneGroup[] {
  const byBefore = new Map<string, EventType[]>();
  for (const type of settings.types) {
    let before: string | null = settings.before;
    for (const hold of holds) {
      if (!hold.types.includes(type)) continue;
      if (hold.from === null) before = null;
      else if (before !== null && hold.from < before) before = hold.from;
    }
    if (before === null) continue;
    byBefore.set(before, [...(byBefore.get(before) ?? []), type]);
  }
  return [...byBefore].map(([before, types]) => ({ before, types }));
}
