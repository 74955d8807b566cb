import type { EventBus } from "../../bus/event-bus.js";
import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { normalizeEventQuery } from "../../event/query.js";
import { parseListQuery } from "../query-string.js";
import { type CoreResponse, json, serialisedText } from "../responses.js";
import { type ScanProgress, scanNewestFirst } from "../search/event-scan.js";
import { readExtraParams, readSearchTerm, searchMatcher } from "../search/extra-params.js";
import { countDesk, TIME_BUCKETS } from "./desk-counts.js";

/**
 * Most events one `GET {base}/summary` counts: the newest this many matching the filters. Past it the answer
 * says `complete: false` and from when its counts run (`counted_from`).
 */
export const SUMMARY_SCAN_WINDOW = 20_000;

/**
 * `GET {base}/summary`: counts for the seller desk over the events matching the list's filters (and `q`): events by
 * type and over time by group, the deal funnel, pending approvals, negotiation outcomes and rounds to close. The
 * work is one bounded scan (at most SUMMARY_SCAN_WINDOW events, 1000 per store call), the same on every store.
 */
export async function summarizeEvents(bus: EventBus, rawQuery: string, now: () => number): Promise<CoreResponse> {
  const { query, issues } = parseListQuery(rawQuery, SUMMARY_SCAN_WINDOW);
  const extra = readExtraParams(rawQuery, ["q"]);
  issues.push(...extra.issues);
  const term = readSearchTerm(extra.values.q, issues);
  for (const cursor of ["after", "before", "limit"] as const) {
    if (query[cursor] !== undefined)
      issues.push({ path: [cursor], message: "is not accepted: a summary counts a window" });
  }
  let range: { since?: string | undefined; until?: string | undefined } = {};
  try {
    range = normalizeEventQuery(query);
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  const matches = term === undefined ? () => true : searchMatcher(term);
  const progress: ScanProgress = { scanned: 0, exhausted: false, oldestId: "" };
  const events: Event[] = [];
  for await (const text of scanNewestFirst(bus, query, SUMMARY_SCAN_WINDOW, progress)) {
    if (matches(text)) events.push(JSON.parse(text) as Event);
  }
  const since = range.since === undefined ? undefined : Date.parse(range.since);
  const until = range.until === undefined ? undefined : Date.parse(range.until);
  const body = {
    scanned: progress.scanned,
    complete: progress.exhausted,
    counted: events.length,
    counted_from: events.at(-1)?.timestamp ?? null,
    counted_to: events[0]?.timestamp ?? null,
    over_time: overTime(events, since, until, now()),
    ...countDesk(events),
  };
  return json(serialisedText(JSON.stringify(body)));
}

/** Events per group in TIME_BUCKETS equal bars over the asked range (or the range of the events counted). */
function overTime(events: readonly Event[], since: number | undefined, until: number | undefined, now: number) {
  const times = events.map((event) => Date.parse(event.timestamp));
  const newest = times.length === 0 ? now : (times[0] as number) + 1;
  const start = since ?? (times.length === 0 ? now - 3_600_000 : (times.at(-1) as number));
  const end = Math.max(until ?? (since === undefined ? newest : Math.max(now, newest)), start + TIME_BUCKETS);
  const bucketMs = Math.ceil((end - start) / TIME_BUCKETS);
  const groups: Record<string, number[]> = {};
  events.forEach((event, index) => {
    const bucket = Math.floor(((times[index] as number) - start) / bucketMs);
    if (bucket < 0 || bucket >= TIME_BUCKETS) return;
    const group = event.event_type.slice(0, event.event_type.indexOf("."));
    const bars = groups[group] ?? new Array<number>(TIME_BUCKETS).fill(0);
    bars[bucket] = (bars[bucket] ?? 0) + 1;
    groups[group] = bars;
  });
  return { start: new Date(start).toISOString(), bucket_ms: bucketMs, buckets: TIME_BUCKETS, groups };
}
