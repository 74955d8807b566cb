import { EventGapError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { oldestMatches, readPastPruned } from "../live/oldest-match.js";
import type { EventStorage, NormalizedEventQuery } from "../storage/types.js";

/**
 * Reads a consumer's events by cursor, ahead of the handler, into a bounded window. The window doubles as the
 * lag counter: `lag` is exact while the backlog fits in it and reads as at least half the window (a lower bound)
 * beyond.
 *
 * The window is topped up once half of it has been handed out, in one read of that half, not after every batch:
 * each read costs a round trip (and on memory a fixed setup) whatever its size, so reading half a window at a time
 * makes a backlog cost one read per five batches of 100 instead of one per batch.
 */
export class ConsumerReader {
  private buffer: Event[] = [];
  private head = 0;
  /** The id of the last event read (exclusive cursor), or `null` when reading has to begin at the oldest match. */
  private cursor: string | null;
  /** True when the last read came back short: the window held every match there was then. */
  private complete = false;
  private ahead: Promise<void> | undefined;

  constructor(
    private readonly storage: EventStorage,
    private readonly query: Omit<NormalizedEventQuery, "limit">,
    private readonly window: number,
    start: string | null,
  ) {
    this.cursor = start;
  }

  /** Events read but not yet taken; when the window is full more may be stored (see the class comment). */
  get lag(): number {
    return this.buffer.length - this.head;
  }

  /**
   * Makes sure the window holds `count` events when the store has them: settles a read ahead in flight, then reads
   * only when fewer than `count` are left (a short window, or a consumer that caught up and looks again).
   */
  fill(count: number): Promise<void> | undefined {
    const ahead = this.ahead;
    if (ahead !== undefined) {
      this.ahead = undefined;
      return ahead.then(() => (this.lag < count ? this.read() : undefined));
    }
    return this.lag < count ? this.read() : undefined;
  }

  /**
   * Starts topping the window up in the background once half of it was handed out, so that the read overlaps the
   * handler and the checkpoint writes of the batches taken meanwhile. Its failure surfaces from the next `fill`.
   */
  readAhead(): void {
    if (this.ahead !== undefined || this.complete || this.lag > this.window / 2) return;
    this.ahead = this.read();
    this.ahead.catch(() => undefined);
  }

  private async read(): Promise<void> {
    const room = this.window - this.lag;
    if (room <= 0) return;
    const events = this.cursor === null ? await this.oldestPage() : await this.readAfter(this.cursor, room);
    this.complete = events.length < room;
    if (events.length === 0) return;
    // One copy per read (a read comes every few batches): what is left of the window, then the new page.
    const left = this.head > 0 ? this.buffer.slice(this.head) : this.buffer;
    this.buffer = left.length === 0 ? events : left.concat(events);
    this.head = 0;
    this.cursor = (events.at(-1) as Event).event_id;
  }

  /** Removes and returns up to `count` events, oldest first, as a frozen array. */
  take(count: number): readonly Event[] {
    // Frozen: the consumer reads the batch's last id after the handler, which must not be able to change it.
    const batch = Object.freeze(this.buffer.slice(this.head, this.head + count));
    this.head += batch.length;
    return batch;
  }

  /**
   * The matches after the last one read. When retention deleted that one, the window still holds what was read
   * before it: reading on from a kept one of those loses nothing. Only a cursor with nothing kept behind it in the
   * window (a pruned checkpoint) is a gap, and the `EventGapError` goes to the consumer.
   */
  private async readAfter(after: string, limit: number): Promise<Event[]> {
    try {
      return await this.storage.list({ ...this.query, after, limit });
    } catch (error) {
      if (!(error instanceof EventGapError)) throw error;
      const known = this.buffer;
      const ids = new Set(known.map((event) => event.event_id));
      const page = await readPastPruned(this.storage, this.query, known, (id) => ids.has(id), limit);
      if (page === undefined) throw error;
      return page.events;
    }
  }

  /**
   * Reads on from the oldest retained match: the cursor was pruned (a gap) and the consumer chose to move on. What
   * the window held is dropped; it lay after the pruned cursor and is read again in order.
   */
  restartAtOldest(): void {
    this.ahead?.catch(() => undefined);
    this.ahead = undefined;
    this.buffer = [];
    this.head = 0;
    this.cursor = null;
    this.complete = false;
  }

  /** The first read of a name that starts at the beginning (or after a gap): the oldest matches, once. */
  private oldestPage(): Promise<Event[]> {
    return oldestMatches(this.storage, this.query, this.window - this.lag);
  }
}

/** The id of the newest stored match, where `from: "end"` starts (`null` when nothing matches yet). */
export async function newestMatch(
  storage: EventStorage,
  query: Omit<NormalizedEventQuery, "limit">,
): Promise<string | null> {
  const [newest] = await storage.list({ ...query, limit: 1 });
  return newest?.event_id ?? null;
}
