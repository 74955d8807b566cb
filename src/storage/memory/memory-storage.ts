import { EventGapError, EventValidationError, type RetainedPosition } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import { matchesQuery, unknownCursorError } from "../../event/query.js";
import { AppendNotifier } from "../kit/append-notifier.js";
import { resolvePruneOptions, yieldToAppends } from "../kit/prune-options.js";
import { closedError } from "../kit/store-errors.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery, PruneOptions } from "../types.js";
import { memoryCheckpoints } from "./memory-checkpoints.js";
import { firstIndexWhere, mergedSeqs, Queue, type SeqSource, type SeqWindow } from "./memory-sequence.js";

/**
 * Options of {@link memoryStorage}.
 *
 * @example
 * ```ts
 * const options: MemoryStorageOptions = { maxEvents: 100_000 };
 * ```
 */
export interface MemoryStorageOptions {
  /**
   * Keep at most this many events; appending past it evicts the oldest (O(1) per event). Unbounded by default.
   * A cursor naming an evicted event is unknown from then on (one naming a pruned event answers `EventGapError`).
   */
  readonly maxEvents?: number | undefined;
}

const MEMORY_OPTION_KEYS: OptionKeys<MemoryStorageOptions> = { maxEvents: true };
const INDEXED_FIELDS = ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id", "event_type"] as const;
type IndexedField = (typeof INDEXED_FIELDS)[number];

/**
 * The default store: events live in this process only, indexed per filter field so that a filtered `list` reads
 * O(limit) entries however many events are stored.
 *
 * @example
 * ```ts
 * const bus = new EventBus({ storage: memoryStorage({ maxEvents: 100_000 }) });
 * ```
 */
export function memoryStorage(given: MemoryStorageOptions = {}): EventStorage {
  const options = readOptions(given, MEMORY_OPTION_KEYS, "memoryStorage");
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  if (maxEvents !== Number.POSITIVE_INFINITY && !(Number.isInteger(maxEvents) && maxEvents >= 1)) {
    throw EventValidationError.forField("maxEvents", `must be a positive integer, got ${showValue(maxEvents)}`);
  }
  // The log holds a slot per appended event in append order (the event, or a marker once pruned); the slot of
  // sequence number `seq` is at `seq - firstSeq`. Sequence numbers below `firstSeq` were evicted by maxEvents.
  const log = new Queue<Slot>();
  let firstSeq = 0;
  let liveCount = 0;
  let oldestLiveHint = 0;
  const slotAt = (seq: number): Slot => (seq < firstSeq ? EVICTED : log.at(seq - firstSeq));
  const allSeqs: SeqSource = {
    get length() {
      return log.length;
    },
    at: (index) => firstSeq + index,
  };
  // Pruned ids stay here (pointing at their marker), so that a cursor naming one answers EventGapError.
  const seqById = new Map<string, number>();
  const indexes = new Map<IndexedField, Map<string, Queue<number>>>(INDEXED_FIELDS.map((field) => [field, new Map()]));
  // While timestamps never go backwards in append order, time bounds can be binary-searched instead of scanned.
  let timestampsAscending = true;
  let lastTimestamp = "";
  const notifier = new AppendNotifier();
  let closed = false;
  const checkOpen = () => {
    if (closed) throw closedError("the memory storage");
  };

  function store(event: Event): void {
    const seq = firstSeq + log.length;
    log.push(event);
    liveCount++;
    seqById.set(event.event_id, seq);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value === "") continue;
      const index = indexes.get(field) as Map<string, Queue<number>>;
      let list = index.get(value);
      if (list === undefined) {
        list = new Queue<number>();
        index.set(value, list);
      }
      list.push(seq);
    }
    if (event.timestamp < lastTimestamp) timestampsAscending = false;
    lastTimestamp = event.timestamp;
    if (liveCount > maxEvents) evictOldest();
  }

  /** Drops head slots up to and including the oldest live event, and every index entry at or before it. */
  function evictOldest(): void {
    let slot = log.shift();
    firstSeq++;
    while (slot instanceof PrunedSlot) {
      slot = log.shift();
      firstSeq++;
    }
    const event = slot as Event;
    liveCount--;
    seqById.delete(event.event_id);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value !== "") trimHead(field, value, firstSeq - 1);
    }
  }

  /** Shifts entries at or below `seq`, and entries of pruned events, off the head of one index list. */
  function trimHead(field: IndexedField, value: string, seq: number): void {
    const index = indexes.get(field) as Map<string, Queue<number>>;
    const list = index.get(value);
    if (list === undefined) return;
    while (list.length > 0 && (list.at(0) <= seq || !isLive(slotAt(list.at(0))))) list.shift();
    if (list.length === 0) index.delete(value);
  }

  function cursorSeq(cursor: "after" | "before", eventId: string): number {
    const seq = seqById.get(eventId);
    if (seq === undefined) throw unknownCursorError(cursor, eventId);
    if (!isLive(slotAt(seq))) throw new EventGapError(cursor, eventId, oldestRetained());
    return seq;
  }

  function oldestRetained(): RetainedPosition | null {
    // Slots only ever go from live to pruned, so the oldest live one never moves back: resume the scan there.
    let seq = Math.max(oldestLiveHint, firstSeq);
    while (seq < firstSeq + log.length && !isLive(slotAt(seq))) seq++;
    oldestLiveHint = seq;
    const slot = seq < firstSeq + log.length ? slotAt(seq) : undefined;
    return isLive(slot) ? { event_id: slot.event_id, timestamp: slot.timestamp } : null;
  }

  function list(query: NormalizedEventQuery): Event[] {
    const afterSeq = query.after === undefined ? undefined : cursorSeq("after", query.after);
    const beforeSeq = query.before === undefined ? undefined : cursorSeq("before", query.before);
    const timestampAt = (seq: number) => slotAt(seq).timestamp;
    const windows = sourcesFor(query).map((source): SeqWindow => {
      let low = afterSeq === undefined ? 0 : firstIndexWhere(source, (seq) => seq > afterSeq);
      let high = beforeSeq === undefined ? source.length : firstIndexWhere(source, (seq) => seq >= beforeSeq);
      const { since, until } = query;
      if (timestampsAscending && since !== undefined) {
        low = Math.max(
          low,
          firstIndexWhere(source, (seq) => timestampAt(seq) >= since),
        );
      }
      if (timestampsAscending && until !== undefined) {
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
      const slot = slotAt(seq);
      if (!isLive(slot) || !matchesQuery(slot, query)) continue;
      found.push(slot);
      if (found.length === query.limit) break;
    }
    return forward ? found : found.reverse();
  }

  /**
   * Marks matching events pruned, a batch at a time with a turn of the event loop between batches. Candidates come
   * from the type indexes, oldest first; while timestamps ascend in append order the walk stops at `before`.
   */
  async function prune(pruneOptions: PruneOptions): Promise<number> {
    const { before, types, batchSize, onBatch } = resolvePruneOptions(pruneOptions);
    const byType = indexes.get("event_type") as Map<string, Queue<number>>;
    const doomed: number[] = [];
    for (const type of types) {
      const list = byType.get(type);
      for (let index = 0; list !== undefined && index < list.length; index++) {
        const slot = slotAt(list.at(index));
        if (timestampsAscending && slot.timestamp >= before) break;
        if (isLive(slot) && slot.timestamp < before) doomed.push(list.at(index));
      }
    }
    doomed.sort((left, right) => left - right);
    let deleted = 0;
    for (let start = 0; start < doomed.length; start += batchSize) {
      for (const seq of doomed.slice(start, start + batchSize)) {
        const slot = slotAt(seq);
        if (!isLive(slot)) continue; // evicted or pruned meanwhile
        log.set(seq - firstSeq, new PrunedSlot(slot.timestamp));
        liveCount--;
        deleted++;
        for (const field of INDEXED_FIELDS) if (slot[field] !== "") trimHead(field, slot[field], firstSeq - 1);
      }
      onBatch?.(deleted);
      await yieldToAppends();
    }
    return deleted;
  }

  return {
    name: "memory",
    checkpoints: memoryCheckpoints(checkOpen),
    async append(batch: readonly Event[]): Promise<readonly AppendOutcome[]> {
      checkOpen();
      const outcomes = batch.map((event) => {
        const existing = seqById.get(event.event_id);
        const slot = existing === undefined ? undefined : slotAt(existing);
        // A pruned id is free again: storing it anew is what a store that forgot it would do.
        if (isLive(slot)) return slot;
        store(event);
        return null;
      });
      if (outcomes.includes(null)) notifier.notify();
      return outcomes;
    },
    watch: (onAppend) => notifier.watch(onAppend),
    async get(eventId: string): Promise<Event | null> {
      checkOpen();
      const seq = seqById.get(eventId);
      const slot = seq === undefined ? undefined : slotAt(seq);
      return isLive(slot) ? slot : null;
    },
    async list(query: NormalizedEventQuery): Promise<Event[]> {
      checkOpen();
      return list(query);
    },
    async prune(options: PruneOptions): Promise<number> {
      checkOpen();
      return prune(options);
    },
    async close(): Promise<void> {
      closed = true;
      notifier.clear();
      seqById.clear();
      for (const index of indexes.values()) index.clear();
      log.clear();
    },
  };

  /**
   * The smallest candidate among the equality filters' index lists and the union of the event-type lists (merged by
   * sequence): a low-cardinality filter combined with a rare type walks the rare type's entries, not the common ones.
   */
  function sourcesFor(query: NormalizedEventQuery): SeqSource[] {
    let narrowest: SeqSource[] = [allSeqs];
    let narrowestSize = Number.POSITIVE_INFINITY;
    for (const field of INDEXED_FIELDS) {
      if (field === "event_type") continue;
      const value = query[field];
      if (value === undefined) continue;
      const list = indexes.get(field)?.get(value);
      if (list === undefined) return [];
      if (list.length < narrowestSize) {
        narrowest = [list];
        narrowestSize = list.length;
      }
    }
    if (query.event_types !== undefined) {
      const byType = indexes.get("event_type") as Map<string, Queue<number>>;
      const lists = query.event_types.flatMap((type) => byType.get(type) ?? []);
      const size = lists.reduce((sum, list) => sum + list.length, 0);
      if (size < narrowestSize) narrowest = lists;
    }
    return narrowest;
  }
}

/** What a log slot holds once its event is pruned: only the timestamp, which binary searches over time need. */
class PrunedSlot {
  constructor(readonly timestamp: string) {}
}

type Slot = Event | PrunedSlot;

/** Stands for any slot below `firstSeq`: evicted events are the oldest, so "" keeps time searches monotonic. */
const EVICTED = new PrunedSlot("");

function isLive(slot: Slot | undefined): slot is Event {
  return slot !== undefined && !(slot instanceof PrunedSlot);
}
