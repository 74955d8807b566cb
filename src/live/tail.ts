import type { ErrorReporter } from "../bus/bus-errors.js";
import { EventGapError, EventValidationError, StorageError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { matchesQuery } from "../event/query.js";
import type { EventStorage, NormalizedEventQuery } from "../storage/types.js";
import { backoffDelay, pause } from "./backoff.js";
import { oldestMatches } from "./oldest-match.js";
import type { ReaderMember, SharedReader } from "./shared-reader.js";
import { filtersOf, type TailRequest } from "./tail-query.js";

/** What a tail needs from the bus's live delivery: the shared reader, and a way to leave it. */
export interface TailHost {
  readonly storage: EventStorage;
  /** The bus's `onError`, told of what a tail without its own `onError` reports. */
  readonly reporter: ErrorReporter;
  /** Registers a member with the bus's shared reader (starting one if needed); `undefined` once closed. */
  enter(member: ReaderMember): SharedReader | undefined;
  leave(member: ReaderMember): void;
}

/**
 * One `bus.tail()`: catches up by its own cursor (`list({ after })` with its filters), then attaches to the bus's
 * shared reader and scans its window. It can fall back to its own cursor at any time (too far behind) and attach
 * again later; both paths deliver each matching event once, in the store's append order.
 *
 * Attaching is where exactly-once is decided. The tail's frontier `cursor` is an event such that every match up to
 * it has been queued and none after it. After a short page (no match between `cursor` and the store's end at read
 * time), the tail attaches right after `cursor` when the window holds it, or right after the reader's head when the
 * head is known to be at or past `cursor` and no match lies between them.
 */
export class EventTail implements AsyncIterableIterator<Event>, ReaderMember {
  position: number | undefined;
  private readonly queue: Event[] = [];
  private readonly filters: NormalizedEventQuery;
  private readonly ender = new AbortController();
  private reader: SharedReader | undefined;
  private cursor: string | undefined;
  private started = false;
  private ended = false;
  private failures = 0;
  /** A cursor known to be at or behind the reader's head though outside its window (older than the window). */
  private knownBehindHead: string | undefined;
  /** Set when the tail began before the shared reader had read the store: its first read starts at this time. */
  private createdAt: string | undefined;
  private pending: Promise<IteratorResult<Event>> = Promise.resolve({ done: true, value: undefined });
  private readonly onAbort = () => this.finish();
  /** The tail's `onError`, else the bus's; a throwing `onError` is reported to the bus's. */
  private readonly report: (error: unknown) => void;

  constructor(
    private readonly host: TailHost,
    private readonly request: TailRequest,
  ) {
    this.report = host.reporter.route("tail", request.onError, (error: unknown) => ({ error }));
    this.filters = filtersOf(request.query);
    this.cursor = request.query.after;
    const { signal } = request;
    if (signal?.aborted) this.ended = true;
    else signal?.addEventListener("abort", this.onAbort, { once: true });
    if (!this.ended && this.cursor === undefined && request.query.since === undefined && !request.fromStart)
      this.markCurrentEnd();
  }

  /**
   * No `after` and no `since`: the start is the shared reader's position now, so nothing appended after `tail()`
   * returned is missed (a few events appended just before it may be included when the reader had not read them).
   * When the reader has not read the store yet, its first read comes after `tail()` returned: events appended in
   * between lie before its start, so this tail first reads by its own cursor from the events stamped since it was
   * created (see `begin`).
   */
  private markCurrentEnd(): void {
    const reader = this.host.enter(this);
    if (reader === undefined) {
      this.finish();
      return;
    }
    this.reader = reader;
    if (reader.started) {
      this.position = reader.headSeq + 1;
      this.cursor = reader.headId;
    } else {
      this.createdAt = new Date().toISOString();
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Event> {
    return this;
  }

  /** Calls are served one after another, even when a caller does not wait for the previous one. */
  next(): Promise<IteratorResult<Event>> {
    this.pending = this.pending.then(
      () => this.step(),
      () => this.step(),
    );
    return this.pending;
  }

  async return(): Promise<IteratorResult<Event>> {
    this.finish();
    return { done: true, value: undefined };
  }

  /** The reader lets go of a tail too far behind: it reads by its own cursor from where it stopped. */
  detach(): void {
    this.position = undefined;
  }

  reportFailure(error: StorageError): boolean {
    if (this.request.onError === undefined) return false;
    this.report(error);
    return true;
  }

  private finish(): void {
    if (this.ended && this.ender.signal.aborted) return;
    this.ended = true;
    this.ender.abort();
    this.request.signal?.removeEventListener("abort", this.onAbort);
    this.queue.length = 0;
    this.host.leave(this);
  }

  private async step(): Promise<IteratorResult<Event>> {
    try {
      for (;;) {
        if (this.ended) return this.done();
        const event = this.queue.shift();
        if (event !== undefined) return { done: false, value: event };
        if (!this.started) await this.begin();
        else if (this.position === undefined) await this.readOwnPage();
        else await this.scanWindow();
      }
    } catch (error) {
      this.finish();
      throw error;
    }
  }

  private done(): IteratorResult<Event> {
    this.finish();
    return { done: true, value: undefined };
  }

  private async begin(): Promise<void> {
    const reader = this.reader ?? this.host.enter(this);
    if (reader === undefined) return this.finish();
    this.reader = reader;
    await this.waitFor(reader.ready);
    if (this.ended || reader.closed) return this.finish();
    this.started = true;
  }

  private attachAt(position: number): void {
    const reader = this.reader as SharedReader;
    if (position < reader.firstSeq) return; // the window moved on meanwhile: read on by cursor
    this.position = position;
  }

  /** Attached: the matches in the window from `position` on, at most a batch at a time. */
  private async scanWindow(): Promise<void> {
    const reader = this.reader as SharedReader;
    if (reader.closed) return this.finish();
    let position = this.position as number;
    if (position < reader.firstSeq) return this.detach();
    const limit = this.request.query.limit;
    while (position <= reader.headSeq && this.queue.length < limit) {
      const event = reader.at(position++);
      this.cursor = event.event_id;
      if (matchesQuery(event, this.filters)) this.queue.push(event);
    }
    this.position = position;
    if (this.queue.length === 0) await this.waitFor(reader.changed());
  }

  /** Detached: one page by the tail's own cursor, then an attempt to attach when the page was short. */
  private async readOwnPage(): Promise<void> {
    const reader = this.reader as SharedReader;
    const sample = { seq: reader.headSeq, id: reader.headId };
    const page = await this.retrying(() => this.readPage());
    if (page === undefined || this.ended) return;
    this.queue.push(...page);
    if (page.length > 0) this.cursor = (page[page.length - 1] as Event).event_id;
    if (page.length >= this.request.query.limit || this.cursor === undefined) {
      if (this.cursor === undefined) this.attachAt(sample.seq + 1); // nothing matches anywhere yet
      return;
    }
    await this.attachAfterShortPage(sample, page.length === 0);
  }

  private async attachAfterShortPage(sample: { seq: number; id: string | undefined }, empty: boolean): Promise<void> {
    const reader = this.reader as SharedReader;
    const cursor = this.cursor as string;
    const seq = reader.seqOf(cursor);
    if (seq !== undefined) return this.attachAt(Math.max(seq, sample.seq) + 1);
    // Not in the window: either older than it, or newer than the reader's head. An empty page from a cursor known to
    // be behind the head means no match lies between them.
    if (empty && this.knownBehindHead === cursor) return this.attachAt(sample.seq + 1);
    await this.waitFor(reader.catchUp());
    if (this.ended) return;
    const after = reader.seqOf(cursor);
    if (after !== undefined) return this.attachAt(after + 1);
    this.knownBehindHead = cursor; // older than the window: the next empty page attaches
  }

  private async readPage(): Promise<Event[]> {
    const { query } = this.request;
    if (this.cursor !== undefined)
      return this.host.storage.list({ ...this.filters, after: this.cursor, limit: query.limit });
    // No cursor: a `since` start, a start before the reader's first read, or the oldest retained match after a gap.
    const since = this.filters.since ?? this.createdAt;
    return oldestMatches(
      this.host.storage,
      since === undefined ? this.filters : { ...this.filters, since },
      query.limit,
    );
  }

  /**
   * The cursor's event was pruned, but the shared reader may hold it still (it read it before): then the tail's place
   * in store order is known and it attaches right after it, losing nothing. True when attached.
   */
  private async attachPastPruned(gap: EventGapError): Promise<boolean> {
    const reader = this.reader;
    if (reader === undefined || gap.eventId !== this.cursor) return false;
    await this.waitFor(reader.catchUp());
    const seq = reader.seqOf(gap.eventId);
    if (seq === undefined || seq + 1 < reader.firstSeq) return false;
    this.position = seq + 1;
    return true;
  }

  /**
   * Retention deleted the event the cursor names. Without `onGap: "oldest"` that ends the tail with the
   * `EventGapError`; with it, the gap goes to `onError` and the tail reads on from the oldest retained match.
   */
  private skipGap(gap: EventGapError): void {
    if (this.request.onGap !== "oldest") throw gap;
    this.report(gap);
    this.cursor = undefined;
    this.createdAt = undefined;
  }

  /** Runs a store read until it succeeds, backing off and reporting each failure; `undefined` once ended. */
  private async retrying(read: () => Promise<Event[]>): Promise<Event[] | undefined> {
    for (;;) {
      try {
        const page = await this.raced(read());
        this.failures = 0;
        return page;
      } catch (error) {
        if (this.ended) return undefined;
        // A bad cursor is the caller's mistake and a pruned one a gap, not an outage: retrying cannot fix either.
        if (error instanceof EventValidationError) throw error;
        if (error instanceof EventGapError) {
          if (await this.attachPastPruned(error)) return undefined;
          this.skipGap(error);
          continue;
        }
        const failure = error instanceof StorageError ? error : new StorageError(this.host.storage.name, "list", error);
        this.report(failure);
        await pause(backoffDelay(this.failures++), this.ender.signal);
      }
    }
  }

  /** The read, or `undefined` as soon as the tail ends (the read's late answer is dropped). */
  private raced<T>(read: Promise<T>): Promise<T | undefined> {
    return this.waitFor(read) as Promise<T | undefined>;
  }

  private waitFor<T>(promise: Promise<T>): Promise<T | undefined> {
    const signal = this.ender.signal;
    if (signal.aborted) {
      promise.catch(() => {});
      return Promise.resolve(undefined);
    }
    return new Promise<T | undefined>((resolve, reject) => {
      const onEnd = () => resolve(undefined);
      signal.addEventListener("abort", onEnd, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onEnd);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onEnd);
          reject(error);
        },
      );
    });
  }
}
