import { EventGapError, type RetainedPosition } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { matchesQuery, unknownCursorError } from "../../event/query.js";
import type { NormalizedEventQuery } from "../types.js";
import { isLive, type MemoryLog } from "./memory-append.js";
import { firstIndexWhere, mergedSeqs, type Queue, type SeqSource, type SeqWindow } from "./memory-sequence.js";

/** The live event stored under this id, or `null`. */
export function getEvent(log: MemoryLog, eventId: string): Event | null {
  const seq = log.seqById.get(eventId);
  const slot = seq === undefined ? undefined : log.slotAt(seq);
  return isLive(slot) ? slot : null;
}

/** A query's window, read from the narrowest index and merged by sequence number. */
export function listEvents(log: MemoryLog, query: NormalizedEventQuery): Event[] {
  const afterSeq = query.after === undefined ? undefined : cursorSeq(log, "after", query.after);
  const beforeSeq = query.before === undefined ? undefined : cursorSeq(log, "before", query.before);
  const timestampAt = (seq: number) => log.slotAt(seq).timestamp;
  const windows = sourcesFor(log, query).map((source): SeqWindow => {
    let low = afterSeq === undefined ? 0 : firstIndexWhere(source, (seq) => seq > afterSeq);
    let high = beforeSeq === undefined ? source.length : firstIndexWhere(source, (seq) => seq >= beforeSeq);
    const { since, until } = query;
    if (log.timestampsAscending && since !== undefined) {
      low = Math.max(
        low,
        firstIndexWhere(source, (seq) => timestampAt(seq) >= since),
      );
    }
    if (log.timestampsAscending && until !== undefined) {
      high = Math.min(
        high,
        firstIndexWhere(source, (seq) => timestampAt(seq) >= until),
      );
    }
    return { source, low, high };
  });
  const found: Event[] = [];
  const forward = afterSeq !== undefined;
  for (const seq of mergedSeqs(windows, forward)) {
    const slot = log.slotAt(seq);
    if (!isLive(slot) || !matchesQuery(slot, query)) continue;
    found.push(slot);
    if (found.length === query.limit) break;
  }
  return forward ? found : found.reverse();
}

function cursorSeq(log: MemoryLog, cursor: "after" | "before", eventId: string): number {
  const seq = log.seqById.get(eventId);
  if (seq === undefined) throw unknownCursorError(cursor, eventId);
  if (!isLive(log.slotAt(seq))) throw new EventGapError(cursor, eventId, oldestRetained(log));
  return seq;
}

function oldestRetained(log: MemoryLog): RetainedPosition | null {
  // Slots only ever go from live to pruned, so the oldest live one never moves back: resume the scan there.
  const end = log.firstSeq + log.slots.length;
  let seq = Math.max(log.oldestLiveHint, log.firstSeq);
  while (seq < end && !isLive(log.slotAt(seq))) seq++;
  log.oldestLiveHint = seq;
  const slot = seq < end ? log.slotAt(seq) : undefined;
  return isLive(slot) ? { event_id: slot.event_id, timestamp: slot.timestamp } : null;
}

/**
 * The smallest candidate among the equality filters' index lists and the union of the event-type lists (merged by
 * sequence): a low-cardinality filter combined with a rare type walks the rare type's entries, not the common ones.
 */
function sourcesFor(log: MemoryLog, query: NormalizedEventQuery): SeqSource[] {
  let narrowest: SeqSource[] = [log.allSeqs];
  let narrowestSize = Number.POSITIVE_INFINITY;
  for (const field of ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const) {
    const value = query[field];
    if (value === undefined) continue;
    const list = log.indexes.get(field)?.get(value);
    if (list === undefined) return [];
    if (list.length < narrowestSize) {
      narrowest = [list];
      narrowestSize = list.length;
    }
  }
  if (query.event_types !== undefined) {
    const byType = log.indexes.get("event_type") as Map<string, Queue<number>>;
    const lists = query.event_types.flatMap((type) => byType.get(type) ?? []);
    const size = lists.reduce((sum, list) => sum + list.length, 0);
    if (size < narrowestSize) narrowest = lists;
  }
  return narrowest;
}
