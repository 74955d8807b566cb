import { setImmediate as nextTurn } from "node:timers/promises";
import type { EventBus } from "../bus/event-bus.js";
import type { EventQuery } from "../event/query.js";
import { readWireHeader } from "../storage/kit/stored-event.js";

/** Events per store read: the most a page may hold, so a walk costs one read per thousand events. */
export const WALK_PAGE = 1000;

/** Where a walk over the store starts and how many events it will meet, found before the first event is yielded. */
export interface WalkStart {
  /** Every event matching the filters when the walk began (later appends come on top). */
  readonly total: number;
}

/**
 * Every event matching `filters`, oldest to newest in the store's append order, as each event's stored JSON text, one
 * page of cursor reads at a time: memory holds one page whatever the store holds. The list contract has no
 * "oldest first" window, so the walk first pages back to the oldest match once (which also counts the matches, for an
 * ETA), then reads forward with `after`. Stops between two pages when `signal` aborts.
 */
export async function* walkEventJson(
  bus: EventBus,
  filters: EventQuery,
  signal: AbortSignal,
  onStart: (start: WalkStart) => void = () => undefined,
): AsyncGenerator<string> {
  const { page, count } = await oldestPage(bus, filters, signal);
  onStart({ total: count });
  let json = page;
  while (json.length > 0 && !signal.aborted) {
    yield* json;
    const last = json.at(-1) as string;
    // A synchronous store (SQLite) answers in microtasks only: give the event loop a turn, so Ctrl-C is seen.
    await nextTurn();
    if (signal.aborted) return;
    json = (await bus.listEventsJsonPage({ ...filters, after: eventIdOf(last), limit: WALK_PAGE })).json;
  }
}

/** The `event_id` of a stored event's JSON text: read from its fixed header, else by parsing it. */
export function eventIdOf(json: string): string {
  return readWireHeader(json)?.event_id ?? (JSON.parse(json) as { event_id: string }).event_id;
}

/** How many events match `filters`, counted by paging back from the newest: one read per thousand matches. */
export async function countMatches(bus: EventBus, filters: EventQuery, signal: AbortSignal): Promise<number> {
  return (await oldestPage(bus, filters, signal)).count;
}

/** Pages back from the newest match to the oldest page, counting the matches on the way; holds one page. */
async function oldestPage(bus: EventBus, filters: EventQuery, signal: AbortSignal) {
  let page = await bus.listEventsJsonPage({ ...filters, limit: WALK_PAGE });
  let count = page.json.length;
  while (page.has_more && !signal.aborted) {
    const first = page.json[0];
    if (first === undefined) break;
    page = await bus.listEventsJsonPage({ ...filters, before: eventIdOf(first), limit: WALK_PAGE });
    count += page.json.length;
  }
  return { page: page.json, count };
}
