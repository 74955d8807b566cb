import { EventValidationError } from "../../errors.js";
import type { Event } from "../../event.js";
import { checkOptionKeys, type OptionKeys } from "../../option-keys.js";
import { matchesQuery, unknownCursorError } from "../../query.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery } from "../types.js";
import { firstIndexWhere, mergedSeqs, Queue, type SeqSource, type SeqWindow } from "./memory-sequence.js";
import { AppendNotifier } from "./memory-watch.js";

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
   * A cursor naming an evicted event is unknown from then on.
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
export function memoryStorage(options: MemoryStorageOptions = {}): EventStorage {
  checkOptionKeys(options, MEMORY_OPTION_KEYS, "memoryStorage");
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  if (maxEvents !== Number.POSITIVE_INFINITY && !(Number.isInteger(maxEvents) && maxEvents >= 1)) {
    throw EventValidationError.forField("maxEvents", `must be a positive integer, got ${String(maxEvents)}`);
  }
  // The log holds every stored event in append order; the event with sequence number `seq` is at `seq - firstSeq`.
  const log = new Queue<Event>();
  let firstSeq = 0;
  const eventAt = (seq: number) => log.at(seq - firstSeq);
  const allSeqs: SeqSource = {
    get length() {
      return log.length;
    },
    at: (index) => firstSeq + index,
  };
  const seqById = new Map<string, number>();
  const indexes = new Map<IndexedField, Map<string, Queue<number>>>(INDEXED_FIELDS.map((field) => [field, new Map()]));
  // While timestamps never go backwards in append order, time bounds can be binary-searched instead of scanned.
  let timestampsAscending = true;
  let lastTimestamp = "";
  const notifier = new AppendNotifier();

  function store(event: Event): void {
    const seq = firstSeq + log.length;
    log.push(event);
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
    if (log.length > maxEvents) evictOldest();
  }

  function evictOldest(): void {
    const event = log.shift();
    firstSeq++;
    seqById.delete(event.event_id);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value === "") continue;
      const index = indexes.get(field) as Map<string, Queue<number>>;
      const list = index.get(value) as Queue<number>;
      list.shift(); // the oldest event is at the head of every list it is in
      if (list.length === 0) index.delete(value);
    }
  }

  function sourcesFor(query: NormalizedEventQuery): SeqSource[] {
    let narrowest: SeqSource = allSeqs;
    for (const field of INDEXED_FIELDS) {
      if (field === "event_type") continue;
      const value = query[field];
      if (value === undefined) continue;
      const list = indexes.get(field)?.get(value);
      if (list === undefined) return [];
      if (narrowest === allSeqs || list.length < narrowest.length) narrowest = list;
    }
    if (narrowest !== allSeqs || query.event_types === undefined) return [narrowest];
    const byType = indexes.get("event_type") as Map<string, Queue<number>>;
    return query.event_types.flatMap((type) => byType.get(type) ?? []);
  }

  function cursorSeq(cursor: "after" | "before", eventId: string): number {
    const seq = seqById.get(eventId);
    if (seq === undefined) throw unknownCursorError(cursor, eventId);
    return seq;
  }

  function list(query: NormalizedEventQuery): Event[] {
    const afterSeq = query.after === undefined ? undefined : cursorSeq("after", query.after);
    const beforeSeq = query.before === undefined ? undefined : cursorSeq("before", query.before);
    const timestampAt = (seq: number) => eventAt(seq).timestamp;
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
      const event = eventAt(seq);
      if (!matchesQuery(event, query)) continue;
      found.push(event);
      if (found.length === query.limit) break;
    }
    return forward ? found : found.reverse();
  }

  return {
    name: "memory",
    async append(batch: readonly Event[]): Promise<readonly AppendOutcome[]> {
      const outcomes = batch.map((event) => {
        const existing = seqById.get(event.event_id);
        if (existing !== undefined) return eventAt(existing);
        store(event);
        return null;
      });
      if (outcomes.includes(null)) notifier.notify();
      return outcomes;
    },
    watch: (onAppend) => notifier.watch(onAppend),
    async get(eventId: string): Promise<Event | null> {
      const seq = seqById.get(eventId);
      return seq === undefined ? null : eventAt(seq);
    },
    async list(query: NormalizedEventQuery): Promise<Event[]> {
      return list(query);
    },
    async close(): Promise<void> {
      notifier.clear();
      seqById.clear();
      for (const index of indexes.values()) index.clear();
      log.clear();
    },
  };
}
