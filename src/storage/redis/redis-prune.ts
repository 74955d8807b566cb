import type { Cluster, Redis } from "ioredis";
import { EventGapError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { type ResolvedPrune, yieldToAppends } from "../kit/prune-options.js";
import type { ConnectionGuard } from "./redis-connection.js";
import { parseEventRecord } from "./redis-record.js";
import { REDIS_INDEXED_FIELDS, type RedisKeyLayout } from "./redis-schema.js";

/**
 * Deletes a batch atomically. KEYS: the pruned set, the log, then per event its record key and its index keys.
 * ARGV: per event three values: event_id, its sequence number, number of index keys. Every entry goes, and the id
 * is remembered in the pruned set (score: its old sequence number).
 */
const PRUNE_SCRIPT = `
local cursor = 3
for i = 1, #ARGV / 3 do
  local id, seq, indexCount = ARGV[3 * i - 2], ARGV[3 * i - 1], tonumber(ARGV[3 * i])
  redis.call('DEL', KEYS[cursor])
  redis.call('ZREM', KEYS[2], id)
  for k = cursor + 1, cursor + indexCount do redis.call('ZREM', KEYS[k], id) end
  redis.call('ZADD', KEYS[1], seq, id)
  cursor = cursor + 1 + indexCount
end
return #ARGV / 3
`;
const PRUNE_COMMAND = "adSellerEventsPruneV1";

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** The sorted set of pruned ids beside a store's keys. */
export function prunedKey(keys: RedisKeyLayout): string {
  return `${keys.prefix}eventlog:pruned`;
}

/**
 * Deletes matching events a batch at a time, one short script per batch (Redis runs nothing else while a script
 * runs, so a batch is as long as an append waits). Candidates come from each type's sorted set, oldest first; the
 * walk of a type stops at its first event stamped at or after `before` (the bus stamps in append order; an event
 * imported with an older stamp after newer ones waits for a later run). A dry run counts the same walk instead.
 */
export async function pruneEvents(
  client: Redis | Cluster,
  keys: RedisKeyLayout,
  guard: ConnectionGuard,
  settings: ResolvedPrune,
): Promise<number> {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[PRUNE_COMMAND] !== "function") client.defineCommand(PRUNE_COMMAND, { lua: PRUNE_SCRIPT });
  const run = commands[PRUNE_COMMAND] as ScriptCommand;
  if (settings.dryRun) return countDoomed(client, keys, guard, settings);
  let deleted = 0;
  for (const type of settings.types) {
    const typeKey = keys.index("event_type", type);
    for (;;) {
      const rows = await guard.run(() =>
        client.zrangebyscore(typeKey, "-inf", "+inf", "WITHSCORES", "LIMIT", 0, settings.batchSize),
      );
      if (rows.length === 0) break;
      const { scriptKeys, args, done } = await planBatch(client, keys, guard, rows, settings.before, typeKey);
      if (args.length > 0) {
        await guard.run(() => run.call(client, scriptKeys.length, ...scriptKeys, ...args));
        deleted += args.length / 3;
        settings.onBatch?.(deleted);
      }
      if (done || rows.length < settings.batchSize * 2) break;
      await yieldToAppends();
    }
  }
  return deleted;
}

/** What a prune with these settings would delete: the same walk, paged by offset, with nothing deleted. */
async function countDoomed(
  client: Redis | Cluster,
  keys: RedisKeyLayout,
  guard: ConnectionGuard,
  settings: ResolvedPrune,
): Promise<number> {
  let total = 0;
  for (const type of settings.types) {
    const typeKey = keys.index("event_type", type);
    for (let offset = 0; ; offset += settings.batchSize) {
      const rows = await guard.run(() =>
        client.zrangebyscore(typeKey, "-inf", "+inf", "WITHSCORES", "LIMIT", offset, settings.batchSize),
      );
      if (rows.length === 0) break;
      const { args, done } = await planBatch(client, keys, guard, rows, settings.before, typeKey);
      total += args.length / 3;
      if (done || rows.length < settings.batchSize * 2) break;
    }
  }
  return total;
}

async function planBatch(
  client: Redis | Cluster,
  keys: RedisKeyLayout,
  guard: ConnectionGuard,
  rows: readonly string[],
  before: string,
  typeKey: string,
): Promise<{ scriptKeys: string[]; args: string[]; done: boolean }> {
  const ids = rows.filter((_, index) => index % 2 === 0);
  const texts = await guard.run(() => client.mget(ids.map((id) => keys.event(id))));
  const scriptKeys = [prunedKey(keys), keys.log];
  const args: string[] = [];
  for (const [index, id] of ids.entries()) {
    const text = texts[index];
    const seq = rows[index * 2 + 1] as string;
    if (text === null || text === undefined) {
      // An index entry whose record was deleted by hand: drop the entry so the walk moves on.
      scriptKeys.push(keys.event(id), typeKey);
      args.push(id, seq, "1");
      continue;
    }
    const event: Event = parseEventRecord(text, keys.event(id));
    if (event.timestamp >= before) return { scriptKeys, args, done: true };
    const indexKeys = REDIS_INDEXED_FIELDS.filter((field) => event[field] !== "").map((field) =>
      keys.index(field, event[field]),
    );
    indexKeys.push(keys.time);
    scriptKeys.push(keys.event(id), ...indexKeys);
    args.push(id, seq, String(indexKeys.length));
  }
  return { scriptKeys, args, done: false };
}

/** For a cursor that names no stored event: the gap error when retention deleted it, otherwise `undefined`. */
export async function gapFor(
  client: Redis | Cluster,
  keys: RedisKeyLayout,
  guard: ConnectionGuard,
  cursor: "after" | "before",
  eventId: string,
): Promise<EventGapError | undefined> {
  const [pruned, oldest] = await guard.run(() =>
    Promise.all([client.zscore(prunedKey(keys), eventId), client.zrange(keys.log, 0, 0)]),
  );
  if (pruned === null) return undefined;
  const oldestId = oldest[0];
  const text = oldestId === undefined ? null : await guard.run(() => client.get(keys.event(oldestId)));
  if (oldestId === undefined || text === null) return new EventGapError(cursor, eventId, null);
  const event = parseEventRecord(text, keys.event(oldestId));
  return new EventGapError(cursor, eventId, { event_id: event.event_id, timestamp: event.timestamp });
}
