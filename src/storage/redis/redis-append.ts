import type { Cluster, Redis } from "ioredis";
import type { Event } from "../../event/event.js";
import type { AppendOutcome } from "../types.js";
import type { ConnectionGuard } from "./redis-connection.js";
import { parseEventRecord, serializeEvent } from "./redis-record.js";
import { REDIS_INDEXED_FIELDS, type RedisKeyLayout } from "./redis-schema.js";

/**
 * Appends a batch atomically. Every key is passed in KEYS (Redis Cluster routes and checks scripts by their keys).
 *
 * KEYS: the sequence counter, the log, the time index, the time index's coverage mark, then per event its record
 * key followed by its index keys.
 * ARGV: the wake-up channel to `PUBLISH` to once the batch is written (`""`: none), then per event four values:
 * event_id, record JSON, number of index keys, timestamp in epoch milliseconds.
 * Returns, per event, `false` (nil) when stored now or the JSON already stored under that id.
 *
 * All reads and type checks run before the first write: a script that fails half-way is not rolled back, so any
 * error must come before anything is written. Redis checks memory (OOM) at a script's first write and lets the
 * rest through, so an OOM refusal also leaves nothing behind. The time index (member event_id, score the
 * timestamp) lets a narrow `since`/`until` drive a read; the coverage mark holds the first sequence number it
 * covers, set by the first append that writes it (a store from before it existed starts there). The `PUBLISH`
 * runs even when nothing was new: the writer asks for it to cover earlier appends too (see `RedisWatch`).
 */
export const APPEND_SCRIPT = `
local function assertSortedSet(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'zset' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ad-seller-events: key ' .. key .. ' holds a ' .. kind .. ', not a sorted set')
  end
end

local channel = ARGV[1]
local function finish(outcome)
  if channel ~= '' then redis.call('PUBLISH', channel, '') end
  return outcome
end

local count = (#ARGV - 1) / 4
local outcome, fresh, inBatch = {}, {}, {}
local cursor = 5
for i = 1, count do
  local id, indexCount = ARGV[4 * i - 2], tonumber(ARGV[4 * i])
  local stored = inBatch[id] or redis.call('GET', KEYS[cursor])
  if stored then
    outcome[i] = stored
  else
    outcome[i] = false
    inBatch[id] = ARGV[4 * i - 1]
    for k = cursor + 1, cursor + indexCount do
      local failure = assertSortedSet(KEYS[k])
      if failure then return failure end
    end
    fresh[#fresh + 1] = { i, cursor, indexCount }
  end
  cursor = cursor + 1 + indexCount
end
if #fresh == 0 then return finish(outcome) end
local failure = assertSortedSet(KEYS[2]) or assertSortedSet(KEYS[3])
if failure then return failure end

local seq = redis.call('INCRBY', KEYS[1], #fresh) - #fresh
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], seq + 1) end
for _, entry in ipairs(fresh) do
  local i, recordAt, indexCount = entry[1], entry[2], entry[3]
  local id = ARGV[4 * i - 2]
  seq = seq + 1
  redis.call('SET', KEYS[recordAt], ARGV[4 * i - 1])
  redis.call('ZADD', KEYS[2], seq, id)
  redis.call('ZADD', KEYS[3], ARGV[4 * i + 1], id)
  for k = recordAt + 1, recordAt + indexCount do
    redis.call('ZADD', KEYS[k], seq, id)
  end
end
return finish(outcome)
`;

// Namespaced so that it cannot clash with commands the caller defines on the same client; the version changes with
// the script's arguments, so that two releases sharing one client never run each other's script.
const APPEND_COMMAND = "adSellerEventsAppendV3";

/** Runs {@link APPEND_SCRIPT} by EVALSHA (EVAL when Redis lacks it); per event `null` (stored) or the stored JSON. */
export type RedisAppendScript = (keys: readonly string[], args: readonly string[]) => Promise<(string | null)[]>;

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** Registers the append script on the client once (`defineCommand` is idempotent per name) and returns its caller. */
export function defineAppend(client: Redis | Cluster): RedisAppendScript {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[APPEND_COMMAND] !== "function") client.defineCommand(APPEND_COMMAND, { lua: APPEND_SCRIPT });
  // The command's own promise, not an async wrapper: every extra frame costs a microtask on the append hot path.
  return (keys, args) =>
    (commands[APPEND_COMMAND] as ScriptCommand).call(client, keys.length, ...keys, ...args) as Promise<
      (string | null)[]
    >;
}

/** What an append needs besides its events. */
export interface AppendContext {
  readonly keys: RedisKeyLayout;
  readonly script: RedisAppendScript;
  readonly guard: ConnectionGuard;
}

/**
 * Stores a batch with one run of {@link APPEND_SCRIPT}. `channel` is the wake-up channel when this script is the one
 * to publish (`""` otherwise). Resolves per event with `null` (stored now) or the event already stored under its id.
 */
export function appendBatch(
  events: readonly Event[],
  context: AppendContext,
  channel: string,
): Promise<readonly AppendOutcome[]> {
  const { keys, script, guard } = context;
  const scriptKeys = [keys.sequence, keys.log, keys.time, keys.timeCoverage];
  const args: string[] = [channel];
  for (const event of events) {
    scriptKeys.push(keys.event(event.event_id));
    let indexCount = 0;
    for (const field of REDIS_INDEXED_FIELDS) {
      const value = event[field];
      if (value === "") continue;
      scriptKeys.push(keys.index(field, value));
      indexCount++;
    }
    args.push(event.event_id, serializeEvent(event), String(indexCount), String(Date.parse(event.timestamp)));
  }
  return guard
    .run(() => script(scriptKeys, args))
    .then((stored) =>
      stored.map((text, position) =>
        text === null ? null : parseEventRecord(text, keys.event((events[position] as Event).event_id)),
      ),
    );
}
