import { EventGapError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import type { EventStorage, NormalizedEventQuery } from "../storage/types.js";

/**
 * The oldest `limit` events matching `filters`, oldest first. The list contract has no "oldest first" window
 * without a cursor, so this walks back from the newest matches with `before`, one read per `limit` stored matches.
 * Tails, the shared reader and consumers all start "at the beginning" (or at the oldest retained match after a
 * gap) this way.
 *
 * @example
 * ```ts
 * const first = await oldestMatches(storage, { event_types: ["deal.booked"] }, 100);
 * ```
 */
export async function oldestMatches(
  storage: EventStorage,
  filters: Omit<NormalizedEventQuery, "limit" | "after" | "before">,
  limit: number,
): Promise<Event[]> {
  let page = await storage.list({ ...filters, limit });
  while (page.length === limit) {
    const older = await storage.list({ ...filters, before: (page[0] as Event).event_id, limit });
    if (older.length === 0) break;
    if (older.length < limit) {
      // The oldest page is short: top it up with the oldest of the page after it, so a full page comes back.
      page = [...older, ...page.slice(0, limit - older.length)];
      break;
    }
    page = older;
  }
  return page;
}

/** A page read on past a pruned cursor: the new events, and whether more may follow at once. */
export interface PageAfterGap {
  readonly events: Event[];
  readonly full: boolean;
}

/**
 * Reads on past a cursor that retention deleted, for a reader that still holds the events it read before it
 * (`known`, oldest first, ending at the pruned cursor). Every event read after a kept one is in `known`, so the
 * reader reads on from the newest kept event it can find (probed newest first, doubling the step back) and drops
 * what it holds. `undefined` when none of the probed events was kept: the gap is real.
 *
 * @example
 * ```ts
 * const page = await readPastPruned(storage, {}, window, (id) => seen.has(id), 1000);
 * if (page === undefined) throw gap;
 * ```
 */
export async function readPastPruned(
  storage: EventStorage,
  filters: Omit<NormalizedEventQuery, "limit" | "after" | "before">,
  known: readonly Event[],
  isKnown: (eventId: string) => boolean,
  limit: number,
): Promise<PageAfterGap | undefined> {
  for (let back = 1; back < known.length; back *= 2) {
    let cursor = (known[known.length - 1 - back] as Event).event_id;
    try {
      for (;;) {
        const page = await storage.list({ ...filters, after: cursor, limit });
        const events = page.filter((event) => !isKnown(event.event_id));
        if (events.length > 0 || page.length < limit) return { events, full: page.length === limit };
        cursor = (page[page.length - 1] as Event).event_id;
      }
    } catch (error) {
      if (!(error instanceof EventGapError)) throw error;
    }
  }
  return undefined;
}
