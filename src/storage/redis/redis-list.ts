import type { Cluster, Redis } from "ioredis";
import { CORRELATION_FIELDS, type Event } from "../../event/event.js";
import type { EventType } from "../../event/event-type.js";
import { matchesQuery, unknownCursorError } from "../../event/query.js";
import { isWireText, readWireHeader, type WireHeader } from "../kit/stored-event.js";
import type { NormalizedEventQuery } from "../types.js";
import type { ConnectionGuard } from "./redis-connection.js";
import { gapFor } from "./redis-prune.js";
import type { RedisRange } from "./redis-range.js";
import { parseEventRecord } from "./redis-record.js";
import { REDIS_INDEXED_FIELDS, type RedisKeyLayout } from "./redis-schema.js";

/** What a listing needs from the store. */
export interface ListContext {
  readonly client: Redis | Cluster;
  readonly keys: RedisKeyLayout;
  readonly scripts: RedisRange;
  readonly guard: ConnectionGuard;
}

/**
 * Walks the narrowest index (or the merged type indexes) from the cursor in chunks, reading each chunk with its
 * records in one round trip (the range script) and keeping those that match every filter, until `limit` are found or the index ends. For
 * a single filter the first chunk of `limit` entries is the answer.
 */
export function listEvents(query: NormalizedEventQuery, context: ListContext): Promise<Event[]> {
  return listRecords(query, context, (text, id) => {
    const event = parseEventRecord(text, context.keys.event(id));
    return matchesQuery(event, query) ? event : undefined;
  });
}

/**
 * `listEvents` as wire JSON: a record the bus wrote is matched on its header and passed on as stored, without a
 * parse; any other record (written by the Python service, say) is parsed, matched and serialised.
 */
export function listEventJson(query: NormalizedEventQuery, context: ListContext): Promise<string[]> {
  const literals = CORRELATION_FIELDS.map((field) => {
    const value = query[field];
    return value === undefined ? undefined : JSON.stringify(value);
  });
  const filtered =
    literals.some((literal) => literal !== undefined) ||
    query.event_types !== undefined ||
    query.since !== undefined ||
    query.until !== undefined;
  return listRecords(query, context, (text, id) => {
    // A page that filters nothing needs a yes or no on the text's form, not its fields: a quarter of the cost.
    if (!filtered && isWireText(text)) return text;
    const header = filtered ? readWireHeader(text) : undefined;
    if (header === undefined) {
      const event = parseEventRecord(text, context.keys.event(id));
      return matchesQuery(event, query) ? JSON.stringify(event) : undefined;
    }
    return matchesHeader(header, query, literals) ? text : undefined;
  });
}

function matchesHeader(header: WireHeader, query: NormalizedEventQuery, literals: readonly (string | undefined)[]) {
  for (const [index, field] of CORRELATION_FIELDS.entries()) {
    const literal = literals[index];
    if (literal !== undefined && header[field] !== literal) return false;
  }
  return (
    (query.event_types === undefined || query.event_types.includes(header.event_type as EventType)) &&
    (query.since === undefined || header.timestamp >= query.since) &&
    (query.until === undefined || header.timestamp < query.until)
  );
}

async function listRecords<T>(
  query: NormalizedEventQuery,
  context: ListContext,
  accept: (text: string, id: string) => T | undefined,
): Promise<T[]> {
  const { scripts, guard } = context;
  const forward = query.after !== undefined;
  const source = await chooseSource(query, context);
  if (source.startBound === null) return [];
  const byTime = await idsInTimeRange(query, context, source.cursorSeq, source.size);
  if (byTime !== undefined) return acceptInOrder(byTime, query.limit, context, accept, forward);
  let bound = source.startBound;
  let chunk = query.limit;
  const found: T[] = [];
  for (;;) {
    const range = [forward ? "asc" : "desc", bound, forward ? "+inf" : "-inf", String(chunk)];
    // One round trip: the script reads the range and the records of its entries.
    const { entries, lastScore, ids, texts } = await guard.run(() => scripts.records(source.keys, range));
    for (const [index, text] of texts.entries()) {
      // A record deleted by hand (retention) leaves index entries behind; they are skipped.
      if (text === null) continue;
      const item = accept(text, ids[index] as string);
      if (item === undefined) continue;
      found.push(item);
      if (found.length === query.limit) return forward ? found : found.reverse();
    }
    if (entries < chunk || lastScore === undefined) break;
    bound = `(${lastScore}`;
    // Combined filters and time bounds may reject most of a chunk: read wider chunks, bounded, until satisfied.
    chunk = Math.min(chunk * 2, Math.max(query.limit, MAX_CHUNK));
  }
  return forward ? found : found.reverse();
}

const MAX_CHUNK = 1000;
/** Most entries of the time index a read walks; a wider time range is filtered on the way instead. */
const MAX_TIME_RANGE = 2000;

/**
 * The ids of a narrow `since`/`until` range from the time index, in append order for the window, or `undefined`
 * when the range is wider than the chosen index (or than {@link MAX_TIME_RANGE}), or when the time index does not
 * cover every stored event (a store appended to before the index existed).
 */
async function idsInTimeRange(
  query: NormalizedEventQuery,
  { client, keys, guard }: ListContext,
  cursorSeq: number | undefined,
  sourceSize: number,
): Promise<string[] | undefined> {
  if (query.since === undefined && query.until === undefined) return undefined;
  const min = query.since === undefined ? "-inf" : String(Date.parse(query.since));
  const max = query.until === undefined ? "+inf" : `(${Date.parse(query.until)}`;
  const [count, coverage, oldest] = await guard.run(() =>
    Promise.all([
      client.zcount(keys.time, min, max),
      client.get(keys.timeCoverage),
      client.zrange(keys.log, 0, 0, "WITHSCORES"),
    ]),
  );
  if (coverage === null || count > MAX_TIME_RANGE || count >= sourceSize) return undefined;
  if (oldest[1] !== undefined && Number(oldest[1]) < Number(coverage)) return undefined;
  if (count === 0) return [];
  const ids = await guard.run(() => client.zrangebyscore(keys.time, min, max));
  const seqs = await guard.run(() => client.zmscore(keys.log, ...ids));
  const forward = query.after !== undefined;
  const positioned = ids
    .map((id, index) => ({ id, seq: seqs[index] === null ? Number.NaN : Number(seqs[index]) }))
    .filter(({ seq }) => {
      if (Number.isNaN(seq)) return false; // pruned meanwhile
      if (cursorSeq === undefined) return true;
      return forward ? seq > cursorSeq : seq < cursorSeq;
    });
  positioned.sort((left, right) => (forward ? left.seq - right.seq : right.seq - left.seq));
  return positioned.map(({ id }) => id);
}

/** Fetches records in the given order, `limit` at a time, until `limit` of them are accepted. */
async function acceptInOrder<T>(
  ids: readonly string[],
  limit: number,
  { client, keys, guard }: ListContext,
  accept: (text: string, id: string) => T | undefined,
  forward: boolean,
): Promise<T[]> {
  const found: T[] = [];
  for (let start = 0; start < ids.length && found.length < limit; start += limit) {
    const chunk = ids.slice(start, start + limit);
    const texts = await guard.run(() => client.mget(chunk.map((id) => keys.event(id))));
    for (const [index, text] of texts.entries()) {
      if (text === null) continue;
      const item = accept(text, chunk[index] as string);
      if (item !== undefined) found.push(item);
      if (found.length === limit) break;
    }
  }
  return forward ? found : found.reverse();
}

/**
 * Resolves the cursor and picks the index to walk: the smallest of the filters' sorted sets (all type sets of an
 * `event_type` list count together), or the log when nothing is filtered. `startBound` is the exclusive start
 * bound, or `null` when some filter matches nothing at all.
 */
async function chooseSource(
  query: NormalizedEventQuery,
  { client, keys, guard }: ListContext,
): Promise<{ keys: string[]; startBound: string | null; cursorSeq: number | undefined; size: number }> {
  const candidates: string[][] = [];
  for (const field of REDIS_INDEXED_FIELDS) {
    if (field === "event_type") continue;
    const value = query[field];
    if (value !== undefined) candidates.push([keys.index(field, value)]);
  }
  if (query.event_types !== undefined) candidates.push(query.event_types.map((type) => keys.index("event_type", type)));
  if (candidates.length === 0) candidates.push([keys.log]);
  const cursor = query.after ?? query.before;
  // Sizes decide between several candidates, and whether a time range is narrower than the one candidate.
  const timed = query.since !== undefined || query.until !== undefined;
  const sizeKeys = candidates.length > 1 || timed ? candidates.flat() : [];
  // A plain newest-first page asks Redis nothing here: no trip, and no deadline timer, for nothing.
  const [cursorSeq, ...sizes] =
    cursor === undefined && sizeKeys.length === 0
      ? [null]
      : await guard.run(() =>
          Promise.all([
            cursor === undefined ? null : client.zscore(keys.log, cursor),
            ...sizeKeys.map((key) => client.zcard(key)),
          ]),
        );
  if (cursor !== undefined && (cursorSeq === null || cursorSeq === undefined)) {
    const name = query.after !== undefined ? "after" : "before";
    throw (await gapFor(client, keys, guard, name, cursor)) ?? unknownCursorError(name, cursor);
  }
  const start = cursor === undefined ? "+inf" : `(${cursorSeq}`;
  const seq = cursorSeq === null || cursorSeq === undefined ? undefined : Number(cursorSeq);
  if (sizeKeys.length === 0) {
    return { keys: candidates[0] as string[], startBound: start, cursorSeq: seq, size: Number.POSITIVE_INFINITY };
  }
  let offset = 0;
  let best: { keys: string[]; size: number } | undefined;
  for (const candidate of candidates) {
    const size = candidate.reduce((sum, _, index) => sum + Number(sizes[offset + index]), 0);
    offset += candidate.length;
    if (best === undefined || size < best.size) best = { keys: candidate, size };
  }
  const narrowest = best as { keys: string[]; size: number };
  return {
    keys: narrowest.keys,
    startBound: narrowest.size === 0 ? null : start,
    cursorSeq: seq,
    size: narrowest.size,
  };
}
