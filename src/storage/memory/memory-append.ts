import type { Event } from "../../event/event.js";
import type { AppendOutcome } from "../types.js";
import { Queue, type SeqSource } from "./memory-sequence.js";

export const INDEXED_FIELDS = ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id", "event_type"] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** What a log slot holds once its event is pruned: only the timestamp, which binary searches over time need. */
export class PrunedSlot {
  constructor(readonly timestamp: string) {}
}

export type Slot = Event | PrunedSlot;

/** Stands for any slot below `firstSeq`: evicted events are the oldest, so "" keeps time searches monotonic. */
const EVICTED = new PrunedSlot("");

export function isLive(slot: Slot | undefined): slot is Event {
  return slot !== undefined && !(slot instanceof PrunedSlot);
}

/**
 * The memory store's state and its write side. The log holds a slot per appended event in append order (the event,
 * or a marker once pruned); the slot of sequence number `seq` is at `seq - firstSeq`. Sequence numbers below
 * `firstSeq` were evicted by `maxEvents`. `memory-list.ts` and `memory-prune.ts` read and mark it.
 */
export class MemoryLog {
  readonly slots = new Queue<Slot>();
  firstSeq = 0;
  liveCount = 0;
  oldestLiveHint = 0;
  // Pruned ids stay here (pointing at their marker), so that a cursor naming one answers EventGapError.
  readonly seqById = new Map<string, number>();
  readonly indexes = new Map<IndexedField, Map<string, Queue<number>>>(
    INDEXED_FIELDS.map((field) => [field, new Map()]),
  );
  /** The same maps in {@link INDEXED_FIELDS} order: the append path reaches them without a lookup by name. */
  private readonly indexesInOrder = INDEXED_FIELDS.map(
    (field) => this.indexes.get(field) as Map<string, Queue<number>>,
  );
  // While timestamps never go backwards in append order, time bounds can be binary-searched instead of scanned.
  timestampsAscending = true;
  private lastTimestamp = "";
  readonly allSeqs: SeqSource;

  constructor(private readonly maxEvents: number) {
    const log = this;
    this.allSeqs = {
      get length() {
        return log.slots.length;
      },
      at: (index) => log.firstSeq + index,
    };
  }

  slotAt(seq: number): Slot {
    return seq < this.firstSeq ? EVICTED : this.slots.at(seq - this.firstSeq);
  }

  /** Stores each new event; an id already live answers the stored event. A pruned id is free again. */
  append(batch: readonly Event[]): AppendOutcome[] {
    const outcomes: AppendOutcome[] = [];
    for (const event of batch) {
      const existing = this.seqById.get(event.event_id);
      const slot = existing === undefined ? undefined : this.slotAt(existing);
      if (isLive(slot)) outcomes.push(slot);
      else {
        this.store(event);
        outcomes.push(null);
      }
    }
    return outcomes;
  }

  /** Shifts entries at or below `seq`, and entries of pruned events, off the head of one index list. */
  trimHead(field: IndexedField, value: string, seq: number): void {
    const index = this.indexes.get(field) as Map<string, Queue<number>>;
    const list = index.get(value);
    if (list === undefined) return;
    while (list.length > 0 && (list.at(0) <= seq || !isLive(this.slotAt(list.at(0))))) list.shift();
    if (list.length === 0) index.delete(value);
  }

  clear(): void {
    this.seqById.clear();
    for (const index of this.indexes.values()) index.clear();
    this.slots.clear();
  }

  private store(event: Event): void {
    const seq = this.firstSeq + this.slots.length;
    this.slots.push(event);
    this.liveCount++;
    this.seqById.set(event.event_id, seq);
    for (let position = 0; position < INDEXED_FIELDS.length; position++) {
      const value = event[INDEXED_FIELDS[position] as IndexedField];
      if (value === "") continue;
      const index = this.indexesInOrder[position] as Map<string, Queue<number>>;
      let list = index.get(value);
      if (list === undefined) {
        list = new Queue<number>();
        index.set(value, list);
      }
      list.push(seq);
    }
    if (event.timestamp < this.lastTimestamp) this.timestampsAscending = false;
    this.lastTimestamp = event.timestamp;
    if (this.liveCount > this.maxEvents) this.evictOldest();
  }

  /** Drops head slots up to and including the oldest live event, and every index entry at or before it. */
  private evictOldest(): void {
    let slot = this.slots.shift();
    this.firstSeq++;
    while (slot instanceof PrunedSlot) {
      slot = this.slots.shift();
      this.firstSeq++;
    }
    const event = slot as Event;
    this.liveCount--;
    this.seqById.delete(event.event_id);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value !== "") this.trimHead(field, value, this.firstSeq - 1);
    }
  }
}
