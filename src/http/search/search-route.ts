import type { EventBus } from "../../bus/event-bus.js";
import { DEFAULT_LIMIT, type EventQuery, normalizeEventQuery } from "../../event/query.js";
import { type CoreResponse, json, serialisedText } from "../responses.js";
import { eventIdOf, type ScanProgress, scanNewestFirst } from "./event-scan.js";
import { searchMatcher } from "./extra-params.js";

/**
 * Most events one `GET {base}?q=` reads from the store. A search is a filter over this window of the newest
 * events matching the other filters; `next_before` continues it further back.
 */
export const SEARCH_SCAN_WINDOW = 10_000;

/**
 * `GET {base}?q=...`: the newest `limit` events matching the filters whose JSON text (ids, type, time, payload and
 * metadata) holds `q`, ignoring case, found among at most SEARCH_SCAN_WINDOW events. The body is the list's, plus
 * `scanned` and `next_before`: the cursor to pass as `before` for the next (older) page, or `null` at the end.
 */
export async function searchEvents(
  bus: EventBus,
  query: EventQuery,
  search: { readonly term: string; readonly maxLimit: number },
): Promise<CoreResponse> {
  normalizeEventQuery(query, { maxLimit: search.maxLimit }); // the list's own checks, limit included
  const limit = query.limit ?? DEFAULT_LIMIT;
  const matches = searchMatcher(search.term);
  const progress: ScanProgress = { scanned: 0, exhausted: false, oldestId: "" };
  const found: string[] = [];
  let full = false;
  for await (const text of scanNewestFirst(bus, query, SEARCH_SCAN_WINDOW, progress)) {
    if (!matches(text)) continue;
    found.push(text);
    if (found.length === limit) {
      full = true;
      break;
    }
  }
  found.reverse(); // the list's order: oldest to newest
  const next = full ? eventIdOf(found[0] as string) : progress.exhausted ? null : progress.oldestId;
  const events = found.join(",");
  const tail = `],"has_more":${next !== null},"scanned":${progress.scanned},"next_before":${JSON.stringify(next)}}`;
  return json(serialisedText(`{"events":[${events}${tail}`));
}
