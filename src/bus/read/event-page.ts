import type { Event } from "../../event/event.js";

/**
 * One page of `listEventsJsonPage`: each event's JSON text, oldest to newest, and whether the window holds more.
 *
 * @example
 * ```ts
 * const page: EventJsonPage = await bus.listEventsJsonPage({ limit: 20 });
 * const events = page.json.map((text) => JSON.parse(text));
 * ```
 */
export interface EventJsonPage {
  readonly json: string[];
  /** True when more events match beyond this page, in the direction the window reads. */
  readonly has_more: boolean;
}

/**
 * One page of `listEventsPage`: the events, oldest to newest, and whether the window holds more.
 *
 * @example
 * ```ts
 * const page: EventPage = await bus.listEventsPage({ session_id, limit: 20 });
 * if (page.has_more) console.log("older events exist");
 * ```
 */
export interface EventPage<Item = Event> {
  readonly events: Item[];
  /** True when more events match beyond this page, in the direction the window reads. */
  readonly has_more: boolean;
}

const eventTexts = new WeakMap<Event, string>();

/** The event's JSON text, written once per event object: stored events are frozen, so the text never goes stale. */
export function eventJson(event: Event): string {
  let text = eventTexts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    eventTexts.set(event, text);
  }
  return text;
}

/** Drops the one extra item read to learn `has_more`, from the far end of the window. */
export function trimPage<T, Page>(
  items: T[],
  limit: number,
  forward: boolean,
  build: (items: T[], hasMore: boolean) => Page,
): Page {
  const hasMore = items.length > limit;
  if (!hasMore) return build(items, false);
  return build(forward ? items.slice(0, -1) : items.slice(1), true);
}
