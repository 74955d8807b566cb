import type { Event } from "../event/event.js";
import type { EventStorage, NormalizedEventQuery } from "../storage/types.js";

/** Page size of the one-time backward walk that finds the oldest match for `from: "start"`. */
const START_PAGE = 1_000;

/**
 * Reads a consumer's events by cursor, ahead of the handler, into a bounded window. The window doubles as the
 * lag counter: `lag` is exact while the backlog fits in it and reads as the window size (a lower bound) beyond.
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

  /** Tops the window up with the next matches after the last one read (first settling a read ahead in flight). */
  async fill(): Promise<void> {
    const ahead = this.ahead;
    if (ahead !== undefined) {
      this.ahead = undefined;
      await ahead;
    }
    await this.read();
  }

  /**
   * Starts topping the window up in the background, so that the next read overlaps the handler and the checkpoint
   * write of the batch just taken. Its failure surfaces from the next `fill`.
   */
  readAhead(): void {
    if (this.ahead !== undefined || this.complete) return;
    this.ahead = this.read();
    this.ahead.catch(() => undefined);
  }

  private async read(): Promise<void> {
    const room = this.window - this.lag;
    if (room <= 0) return;
    const events = this.cursor === null ? await this.oldestPage() : await this.readAfter(this.cursor, room);
    this.complete = events.length < room;
    if (events.length === 0) return;
    if (this.head > 0) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    for (const event of events) this.buffer.push(event);
    this.cursor = (events.at(-1) as Event).event_id;
  }

  /** Removes and returns up to `count` events, oldest first, as a frozen array. */
  take(count: number): readonly Event[] {
    // Frozen: the consumer reads the batch's last id after the handler, which must not be able to change it.
    const batch = Object.freeze(this.buffer.slice(this.head, this.head + count));
    this.head += batch.length;
    return batch;
  }

  private readAfter(after: string, limit: number): Promise<Event[]> {
    return this.storage.list({ ...this.query, after, limit });
  }

  /**
   * The list contract has no "oldest first" window without a cursor, so the first read of a name that starts at
   * the beginning walks back with `before` to the oldest page, once. Cost: one read per 1,000 stored matches.
   */
  private async oldestPage(): Promise<Event[]> {
    let page = await this.storage.list({ ...this.query, limit: START_PAGE });
    while (page.length === START_PAGE) {
      const older = await this.storage.list({ ...this.query, before: (page[0] as Event).event_id, limit: START_PAGE });
      if (older.length === 0) break;
      page = older;
    }
    return page;
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
