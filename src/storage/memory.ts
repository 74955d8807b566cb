import { EventValidationError } from "../errors.js";
import type { Event } from "../event.js";
import { unknownCursorError } from "../query.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery } from "./types.js";

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Keep at most this many events; appending past it evicts the oldest (O(1) per event). Unbounded by default.
   * A cursor naming an evicted event is unknown from then on.
   */
  readonly maxEvents?: number | undefined;
}

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
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  if (maxEvents !== Number.POSITIVE_INFINITY && !(Number.isInteger(maxEvents) && maxEvents >= 1)) {
    throw EventValidationError.forField("maxEvents", `must be a positive integer, got ${String(maxEvents)}`);
  }
  const log = new SeqList();
  const events = new Map<number, Event>();
  const seqById = new Map<string, number>();
  const indexes = new Map<IndexedField, Map<string, SeqList>>(INDEXED_FIELDS.map((field) => [field, new Map()]));
  let nextSeq = 0;
  // While timestamps never go backwards in append order, time bounds can be binary-searched instead of scanned.
  let timestampsAscending = true;
  let lastTimestamp = "";

  function store(event: Event): void {
    const seq = nextSeq++;
    events.set(seq, event);
    seqById.set(event.event_id, seq);
    log.push(seq);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value === "") continue;
      const index = indexes.get(field) as Map<string, SeqList>;
      let list = index.get(value);
      if (list === undefined) {
        list = new SeqList();
        index.set(value, list);
      }
      list.push(seq);
    }
    if (event.timestamp < lastTimestamp) timestampsAscending = false;
    lastTimestamp = event.timestamp;
    if (log.length > maxEvents) evictOldest();
  }

  function evictOldest(): void {
    const seq = log.shift();
    const event = events.get(seq) as Event;
    events.delete(seq);
    seqById.delete(event.event_id);
    for (const field of INDEXED_FIELDS) {
      const value = event[field];
      if (value === "") continue;
      const index = indexes.get(field) as Map<string, SeqList>;
      const list = index.get(value) as SeqList;
      list.shift(); // the oldest event is at the head of every list it is in
      if (list.length === 0) index.delete(value);
    }
  }

  function sourcesFor(query: NormalizedEventQuery): SeqList[] {
    let narrowest: SeqList | undefined = log;
    for (const field of INDEXED_FIELDS) {
      if (field === "event_type") continue;
      const value = query[field];
      if (value === undefined) continue;
      const list = indexes.get(field)?.get(value);
      if (list === undefined) return [];
      if (narrowest === log || list.length < narrowest.length) narrowest = list;
    }
    if (narrowest !== log || query.event_types === undefined) return [narrowest];
    const byType = indexes.get("event_type") as Map<string, SeqList>;
    return query.event_types.flatMap((type) => byType.get(type) ?? []);
  }

  function matches(event: Event, query: NormalizedEventQuery): boolean {
    return (
      (query.flow_id === undefined || event.flow_id === query.flow_id) &&
      (query.flow_type === undefined || event.flow_type === query.flow_type) &&
      (query.proposal_id === undefined || event.proposal_id === query.proposal_id) &&
      (query.deal_id === undefined || event.deal_id === query.deal_id) &&
      (query.session_id === undefined || event.session_id === query.session_id) &&
      (query.event_types === undefined || query.event_types.includes(event.event_type)) &&
      (query.since === undefined || event.timestamp >= query.since) &&
      (query.until === undefined || event.timestamp < query.until)
    );
  }

  function cursorSeq(cursor: "after" | "before", eventId: string): number {
    const seq = seqById.get(eventId);
    if (seq === undefined) throw unknownCursorError(cursor, eventId);
    return seq;
  }

  function list(query: NormalizedEventQuery): Event[] {
    const afterSeq = query.after === undefined ? undefined : cursorSeq("after", query.after);
    const beforeSeq = query.before === undefined ? undefined : cursorSeq("before", query.before);
    const timestampAt = (seq: number) => (events.get(seq) as Event).timestamp;
    const windows = sourcesFor(query).map((source) => {
      let low = afterSeq === undefined ? 0 : source.firstIndexWhere((seq) => seq > afterSeq);
      let high = beforeSeq === undefined ? source.length : source.firstIndexWhere((seq) => seq >= beforeSeq);
      if (timestampsAscending && query.since !== undefined) {
        const since = query.since;
        low = Math.max(
          low,
          source.firstIndexWhere((seq) => timestampAt(seq) >= since),
        );
      }
      if (timestampsAscending && query.until !== undefined) {
        const until = query.until;
        high = Math.min(
          high,
          source.firstIndexWhere((seq) => timestampAt(seq) >= until),
        );
      }
      return { source, low, high };
    });
    const found: Event[] = [];
    const forward = afterSeq !== undefined;
    for (const seq of mergedSeqs(windows, forward)) {
      const event = events.get(seq) as Event;
      if (!matches(event, query)) continue;
      found.push(event);
      if (found.length === query.limit) break;
    }
    return forward ? found : found.reverse();
  }

  return {
    name: "memory",
    async append(batch: readonly Event[]): Promise<readonly AppendOutcome[]> {
      return batch.map((event) => {
        const existing = seqById.get(event.event_id);
        if (existing !== undefined) return events.get(existing) as Event;
        store(event);
        return null;
      });
    },
    async get(eventId: string): Promise<Event | null> {
      const seq = seqById.get(eventId);
      return seq === undefined ? null : (events.get(seq) as Event);
    },
    async list(query: NormalizedEventQuery): Promise<Event[]> {
      return list(query);
    },
    async close(): Promise<void> {
      events.clear();
      seqById.clear();
      for (const index of indexes.values()) index.clear();
      log.clear();
    },
  };
}

/**
 * An ascending list of append sequence numbers with O(1) amortised push and shift: shifted slots are
 * reclaimed in bulk instead of moving the array on every eviction.
 */
class SeqList {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): number {
    return this.items[this.head + index] as number;
  }

  push(seq: number): void {
    this.items.push(seq);
  }

  shift(): number {
    const seq = this.items[this.head++] as number;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return seq;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** Binary search: the first index whose seq satisfies a predicate that is monotonic over the list. */
  firstIndexWhere(predicate: (seq: number) => boolean): number {
    let low = 0;
    let high = this.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (predicate(this.at(middle))) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

interface SeqWindow {
  readonly source: SeqList;
  low: number;
  high: number;
}

/** Walks several ascending windows as one sequence, oldest first when `forward`, newest first otherwise. */
function* mergedSeqs(windows: SeqWindow[], forward: boolean): Generator<number> {
  const live = windows.filter((window) => window.low < window.high);
  while (live.length > 0) {
    let pick = 0;
    for (let index = 1; index < live.length; index++) {
      const candidate = live[index] as SeqWindow;
      const current = live[pick] as SeqWindow;
      const better = forward
        ? candidate.source.at(candidate.low) < current.source.at(current.low)
        : candidate.source.at(candidate.high - 1) > current.source.at(current.high - 1);
      if (better) pick = index;
    }
    const window = live[pick] as SeqWindow;
    if (forward) yield window.source.at(window.low++);
    else yield window.source.at(--window.high);
    if (window.low >= window.high) live.splice(pick, 1);
  }
}
