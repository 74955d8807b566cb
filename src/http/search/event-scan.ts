import type { EventBus } from "../../bus/event-bus.js";
import type { EventQuery } from "../../event/query.js";

/** Events read per store call while scanning: the largest page every store serves. */
const SCAN_PAGE = 1000;

/** Where a scan stopped, for the answer and for the next request's `before` cursor. */
export interface ScanProgress {
  /** Events read from the store so far. */
  scanned: number;
  /** True once the store holds no older event matching the filters. */
  exhausted: boolean;
  /** The oldest event read (a `before` cursor that continues the scan), or `""` before the first page. */
  oldestId: string;
}

/**
 * Reads the events matching `query` newest first, as their JSON texts, one store page at a time, and stops after
 * `maxScanned` events: the bound every route built on it (search, export, summary) inherits, the same on every
 * store, since each page is an indexed `list` call of at most 1000 events (DESIGN section 16).
 */
export async function* scanNewestFirst(
  bus: EventBus,
  query: EventQuery,
  maxScanned: number,
  progress: ScanProgress,
): AsyncGenerator<string> {
  let before = query.before;
  while (progress.scanned < maxScanned) {
    const limit = Math.min(SCAN_PAGE, maxScanned - progress.scanned);
    const page = await bus.listEventsJsonPage({ ...query, before, after: undefined, limit });
    const texts = page.json;
    if (texts.length === 0) {
      progress.exhausted = true;
      return;
    }
    progress.scanned += texts.length;
    before = eventIdOf(texts[0] as string);
    progress.oldestId = before;
    progress.exhausted = !page.has_more;
    for (let index = texts.length - 1; index >= 0; index--) yield texts[index] as string;
    if (!page.has_more) return;
  }
}

/** The `event_id` of an event's JSON text. */
export function eventIdOf(text: string): string {
  return (JSON.parse(text) as { event_id: string }).event_id;
}
