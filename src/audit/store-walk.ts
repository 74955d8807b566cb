import type { Event } from "../event/event.js";
import type { EventStorage, NormalizedEventQuery } from "../storage/types.js";

const PAGE = 1000;

/**
 * Every matching event in store order, oldest first, read a page at a time through the public `list` cursor API
 * (so it holds whatever order each adapter defines, and one page of memory). Without `after`, the oldest page is
 * found first by paging back from the newest: the list contract has no "oldest first" read without a cursor.
 */
export async function* eventsInStoreOrder(
  storage: EventStorage,
  filter: Omit<NormalizedEventQuery, "limit">,
  after: string | null,
): AsyncGenerator<Event> {
  let page: Event[];
  if (after === null) {
    page = await storage.list({ ...filter, limit: PAGE });
    for (let older = page; older.length === PAGE; ) {
      older = await storage.list({ ...filter, before: (older[0] as Event).event_id, limit: PAGE });
      if (older.length > 0) page = older;
    }
  } else {
    page = await storage.list({ ...filter, after, limit: PAGE });
  }
  // The oldest page may be short with newer pages after it: only a short read by cursor ends the walk.
  while (page.length > 0) {
    yield* page;
    page = await storage.list({ ...filter, after: (page.at(-1) as Event).event_id, limit: PAGE });
  }
}
