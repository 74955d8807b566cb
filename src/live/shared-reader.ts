import { EventGapError, EventValidationError, StorageError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import type { EventStorage, StorageWatch } from "../storage/types.js";
import { backoffDelay, pause } from "./backoff.js";
import { oldestMatches, type PageAfterGap, readPastPruned } from "./oldest-match.js";

/** Tuning of a {@link SharedReader}; the defaults suit production, tests shrink them. */
export interface SharedReaderSettings {
  /** Safety poll while the storage has `watch` (a lost wake-up delays delivery by at most this). */
  readonly safetyPollMs: number;
  /** Poll interval for a storage without `watch`. */
  readonly pollMs: number;
  /** Events per unfiltered store read. */
  readonly readLimit: number;
  /** A tailer this many events behind the newest one read is detached and reads by its own cursor. */
  readonly maxLag: number;
  /** Events kept for tailers that join, even when no attached tailer needs them. */
  readonly minWindow: number;
}

/** What every attached tailer exposes to the reader. */
export interface ReaderMember {
  /** Sequence number of the next log entry this tailer will look at, or `undefined` when it reads by itself. */
  readonly position: number | undefined;
  /** The reader gave up on this tailer's lag: from now on it reads with its own cursor. */
  detach(): void;
  /** A store read of the shared reader failed; true when the tailer reported it to its own `onError`. */
  reportFailure(error: StorageError): boolean;
}

export const DEFAULT_READER_SETTINGS: SharedReaderSettings = {
  safetyPollMs: 1000,
  pollMs: 250,
  readLimit: 1000,
  maxLag: 5000,
  minWindow: 1000,
};

/**
 * One unfiltered reader per bus that every tail of that bus shares: on each wake-up (a `watch` hint or a poll) it
 * reads the store by its own cursor, `list({ after })` until a short page, and keeps the events in a window
 * numbered by local sequence numbers. Tailers scan the window with `matchesQuery`, so 1,000 tailers cost one store
 * read per wake-up. The window is bounded: a tailer too far behind is detached (it reads by its own cursor) rather
 * than holding events.
 */
export class SharedReader {
  /** Sequence number of `entries[0]`. */
  firstSeq = 1;
  /** Sequence number of the newest entry (`firstSeq - 1` while the window is empty). */
  headSeq = 0;
  /** The store cursor: the newest event read, `undefined` while the store was empty at start. */
  headId: string | undefined;
  /** True once the start position is known. */
  started = false;
  closed = false;
  readonly ready: Promise<void>;
  private readonly entries: Event[] = [];
  private readonly seqById = new Map<string, number>();
  private readonly members = new Set<ReaderMember>();
  private changedSignal = createSignal();
  private reading = false;
  private again = false;
  private failures = 0;
  private cycleStarted = 0;
  private cycleFinished = 0;
  private readonly cycleWaiters: { target: number; resolve: () => void }[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private stopWatch: StorageWatch | undefined;
  private readonly stopped = new AbortController();

  constructor(
    private readonly storage: EventStorage,
    private readonly settings: SharedReaderSettings,
    private readonly reportUnhandled: (error: StorageError) => void,
  ) {
    this.ready = this.start();
  }

  /** The event with this local sequence number (it must lie in the window). */
  at(seq: number): Event {
    return this.entries[seq - this.firstSeq] as Event;
  }

  /** The local sequence number of an event in the window. */
  seqOf(eventId: string): number | undefined {
    return this.seqById.get(eventId);
  }

  /** Settles on the next batch read, or on close. One promise for all waiters: no per-tailer listener. */
  changed(): Promise<void> {
    return this.changedSignal.promise;
  }

  add(member: ReaderMember): void {
    this.members.add(member);
  }

  remove(member: ReaderMember): void {
    this.members.delete(member);
  }

  get size(): number {
    return this.members.size;
  }

  /** Resolves once a full read that began after this call has reached the end of the store. */
  catchUp(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const target = this.cycleStarted + 1;
    const done = new Promise<void>((resolve) => this.cycleWaiters.push({ target, resolve }));
    this.wake();
    return done;
  }

  /** A wake-up: read now, or once more after the read in progress. */
  readonly wake = (): void => {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    void this.pump();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped.abort();
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    this.changedSignal.resolve();
    for (const waiter of this.cycleWaiters.splice(0)) waiter.resolve();
    this.entries.length = 0;
    this.seqById.clear();
    const stop = this.stopWatch;
    this.stopWatch = undefined;
    await stop?.().catch(() => {});
  }

  private async start(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const [newest] = await this.storage.list({ limit: 1 });
        // Kept in the window: should retention delete it, the reader still knows where it stood.
        if (newest !== undefined) this.push([newest]);
        this.started = true;
        break;
      } catch (error) {
        this.report(error);
        await pause(backoffDelay(attempt), this.stopped.signal);
      }
    }
    if (this.closed) return;
    let watching = false;
    if (typeof this.storage.watch === "function") {
      try {
        this.stopWatch = this.storage.watch(this.wake);
        watching = true;
      } catch (error) {
        this.report(error);
      }
    }
    this.pollTimer = setInterval(this.wake, watching ? this.settings.safetyPollMs : this.settings.pollMs);
    // Whatever was appended between the first read and the watch starting woke nobody: read once now.
    this.wake();
  }

  private async pump(): Promise<void> {
    this.reading = true;
    try {
      do {
        this.again = false;
        const cycle = ++this.cycleStarted;
        await this.readToEnd();
        this.finishCycle(cycle);
      } while (this.again && !this.closed);
      this.failures = 0;
    } catch (error) {
      if (error instanceof EventValidationError && !this.closed) {
        // The reader's own cursor is gone (a bounded store evicted it): every attached tail goes back to its own
        // cursor, which either still exists or fails that tail loudly, and the reader starts again at the end.
        await this.restartAtEnd();
      } else if (!this.closed) {
        this.report(error);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(this.wake, backoffDelay(this.failures++));
      }
    } finally {
      this.reading = false;
    }
  }

  private async readToEnd(): Promise<void> {
    const limit = this.settings.readLimit;
    for (;;) {
      // The store was empty at start: everything in it now is new, from its oldest event on.
      const page =
        this.headId === undefined
          ? fullness(await oldestMatches(this.storage, {}, limit), limit)
          : await this.readAfterHead(limit);
      if (this.closed) return;
      if (page.events.length > 0) this.push(page.events);
      if (!page.full) return;
    }
  }

  /** The next events after the head in store order; `full` when more may follow at once. */
  private async readAfterHead(limit: number): Promise<PageAfterGap> {
    try {
      return fullness(await this.storage.list({ after: this.headId as string, limit }), limit);
    } catch (error) {
      if (!(error instanceof EventGapError)) throw error;
      return this.readAfterRetained(limit);
    }
  }

  /**
   * Retention deleted the head: the reader's position is a place in store order, not that event. It reads on from
   * an older event of its window that retention kept; when the whole window is gone too, from the newest events
   * back to where its window began (see `readBackToWindow`).
   */
  private async readAfterRetained(limit: number): Promise<PageAfterGap> {
    const page = await readPastPruned(this.storage, {}, this.entries, (id) => this.seqById.has(id), limit);
    return page ?? { events: await this.readBackToWindow(limit), full: false };
  }

  /**
   * Every event of the window was pruned. What the store holds after the window is what lies, newest first, down
   * to an event the window holds or one stamped before the window's oldest event (less a minute for writers'
   * clocks and append latency); retention deletes by age, so older events were read before. Those are the new ones.
   */
  private async readBackToWindow(limit: number): Promise<Event[]> {
    const oldest = this.entries[0];
    if (oldest === undefined)
      throw new EventValidationError([{ path: ["after"], message: "the reader's head was pruned" }]);
    const boundary = new Date(Date.parse(oldest.timestamp) - CLOCK_MARGIN_MS).toISOString();
    const fresh: Event[] = [];
    let page = await this.storage.list({ limit });
    for (;;) {
      for (let index = page.length - 1; index >= 0; index--) {
        const event = page[index] as Event;
        if (this.seqById.has(event.event_id) || event.timestamp < boundary) return fresh.reverse();
        fresh.push(event);
      }
      if (page.length < limit) return fresh.reverse();
      page = await this.storage.list({ before: (page[0] as Event).event_id, limit });
    }
  }

  private async restartAtEnd(): Promise<void> {
    for (const member of this.members) if (member.position !== undefined) member.detach();
    this.trim(this.headSeq + 1);
    try {
      const [newest] = await this.storage.list({ limit: 1 });
      this.headId = undefined;
      if (newest !== undefined) this.push([newest]);
    } catch (error) {
      this.report(error);
    }
    const signal = this.changedSignal;
    this.changedSignal = createSignal();
    signal.resolve();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(this.wake, 0);
  }

  private push(page: readonly Event[]): void {
    for (const event of page) {
      this.entries.push(event);
      this.seqById.set(event.event_id, ++this.headSeq);
    }
    this.headId = (page[page.length - 1] as Event).event_id;
    let keepFrom = this.headSeq + 1 - this.settings.minWindow;
    for (const member of this.members) {
      const position = member.position;
      if (position === undefined) continue;
      if (this.headSeq - position >= this.settings.maxLag) member.detach();
      else keepFrom = Math.min(keepFrom, position);
    }
    this.trim(keepFrom);
    const signal = this.changedSignal;
    this.changedSignal = createSignal();
    signal.resolve();
  }

  private trim(keepFrom: number): void {
    const drop = Math.min(keepFrom - this.firstSeq, this.entries.length);
    if (drop <= 0) return;
    for (const event of this.entries.splice(0, drop)) this.seqById.delete(event.event_id);
    this.firstSeq += drop;
  }

  private finishCycle(cycle: number): void {
    this.cycleFinished = cycle;
    let kept = 0;
    for (const waiter of this.cycleWaiters) {
      if (waiter.target <= this.cycleFinished) waiter.resolve();
      else this.cycleWaiters[kept++] = waiter;
    }
    this.cycleWaiters.length = kept;
  }

  private report(error: unknown): void {
    const failure = error instanceof StorageError ? error : new StorageError(this.storage.name, "list", error);
    let handled = false;
    for (const member of this.members) handled = member.reportFailure(failure) || handled;
    if (!handled) this.reportUnhandled(failure);
  }
}

/** How far before its window's oldest event a reader whose whole window was pruned looks for new events. */
const CLOCK_MARGIN_MS = 60_000;

function fullness(events: Event[], limit: number): PageAfterGap {
  return { events, full: events.length === limit };
}

function createSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
