import { resolvePruneOptions, yieldToAppends } from "../kit/prune-options.js";
import type { PruneOptions } from "../types.js";
import { INDEXED_FIELDS, isLive, type MemoryLog, PrunedSlot } from "./memory-append.js";
import type { Queue } from "./memory-sequence.js";

/**
 * Marks matching events pruned, a batch at a time with a turn of the event loop between batches. Candidates come
 * from the type indexes, oldest first; while timestamps ascend in append order the walk stops at `before`. A dry
 * run returns how many it found.
 */
export async function pruneEvents(log: MemoryLog, pruneOptions: PruneOptions): Promise<number> {
  const { before, types, batchSize, onBatch, dryRun } = resolvePruneOptions(pruneOptions);
  const byType = log.indexes.get("event_type") as Map<string, Queue<number>>;
  const doomed: number[] = [];
  for (const type of types) {
    const list = byType.get(type);
    for (let index = 0; list !== undefined && index < list.length; index++) {
      const slot = log.slotAt(list.at(index));
      if (log.timestampsAscending && slot.timestamp >= before) break;
      if (isLive(slot) && slot.timestamp < before) doomed.push(list.at(index));
    }
  }
  if (dryRun) return doomed.length;
  doomed.sort((left, right) => left - right);
  let deleted = 0;
  for (let start = 0; start < doomed.length; start += batchSize) {
    for (const seq of doomed.slice(start, start + batchSize)) {
      const slot = log.slotAt(seq);
      if (!isLive(slot)) continue; // evicted or pruned meanwhile
      log.slots.set(seq - log.firstSeq, new PrunedSlot(slot.timestamp));
      log.liveCount--;
      deleted++;
      for (const field of INDEXED_FIELDS) if (slot[field] !== "") log.trimHead(field, slot[field], log.firstSeq - 1);
    }
    onBatch?.(deleted);
    await yieldToAppends();
  }
  return deleted;
}
