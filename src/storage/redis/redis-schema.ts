import { CORRELATION_FIELDS, type CorrelationField } from "../../event/event.js";

/**
 * The default key prefix: the Python seller agent's convention.
 *
 * @example
 * ```ts
 * await redis.get(`${DEFAULT_REDIS_PREFIX}event:${eventId}`); // "ad_seller:event:<id>"
 * ```
 */
export const DEFAULT_REDIS_PREFIX = "ad_seller:";

/**
 * The fields that get a sorted-set index each: the correlation fields and `event_type`. An empty value is not
 * indexed.
 *
 * @example
 * ```ts
 * const keys = redisKeyLayout();
 * const indexKeys = REDIS_INDEXED_FIELDS.filter((field) => event[field] !== "").map((f) => keys.index(f, event[f]));
 * ```
 */
export const REDIS_INDEXED_FIELDS = [...CORRELATION_FIELDS, "event_type"] as const;

/**
 * A field with a sorted-set index.
 *
 * @example
 * ```ts
 * const field: RedisIndexedField = "session_id";
 * ```
 */
export type RedisIndexedField = CorrelationField | "event_type";

/**
 * The name of every key a Redis store uses, all under one prefix. See docs/storage/redis.md for the types and
 * contents.
 *
 * @example
 * ```ts
 * const keys = redisKeyLayout("{ad_seller}:");
 * keys.event("0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e"); // "{ad_seller}:event:0b9c5bde-..."
 * keys.index("deal_id", "d-1"); // "{ad_seller}:eventlog:deal_id:d-1"
 * ```
 */
export interface RedisKeyLayout {
  /** The prefix every key starts with. */
  readonly prefix: string;
  /** String: the counter behind the append order (`INCRBY` inside the append script). */
  readonly sequence: string;
  /** Sorted set of every appended event: member `event_id`, score its append sequence number. */
  readonly log: string;
  /** Sorted set of appended events by time: member `event_id`, score its timestamp in epoch milliseconds. */
  readonly time: string;
  /** String: the first sequence number the time index covers (events appended before it existed are not in it). */
  readonly timeCoverage: string;
  /** String: the event's JSON, exactly its wire format (what the Python service reads). */
  event(eventId: string): string;
  /** Sorted set of the events whose `field` equals `value`: member `event_id`, score its sequence number. */
  index(field: RedisIndexedField, value: string): string;
}

/**
 * The key names of a Redis store with this prefix, e.g. to read records from other tools or to clean up a store.
 *
 * @example
 * ```ts
 * const keys = redisKeyLayout(); // prefix "ad_seller:"
 * const json = await redis.get(keys.event(eventId));
 * const count = await redis.zcard(keys.log);
 * ```
 */
export function redisKeyLayout(prefix: string = DEFAULT_REDIS_PREFIX): RedisKeyLayout {
  return Object.freeze({
    prefix,
    sequence: `${prefix}eventlog:seq`,
    log: `${prefix}eventlog:all`,
    time: `${prefix}eventlog:time`,
    timeCoverage: `${prefix}eventlog:time:from`,
    event: (eventId: string) => `${prefix}event:${eventId}`,
    // The field name never contains ":", so "{field}:{value}" cannot collide whatever the value holds.
    index: (field: RedisIndexedField, value: string) => `${prefix}eventlog:${field}:${value}`,
  });
}
