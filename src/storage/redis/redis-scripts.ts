import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * Appends a batch atomically. Every key is passed in KEYS (Redis Cluster routes and checks scripts by their keys).
 *
 * KEYS: the sequence counter, the log, then per event its record key followed by its index keys.
 * ARGV: per event three values: event_id, record JSON, number of index keys.
 * Returns, per event, `false` (nil) when stored now or the JSON already stored under that id.
 *
 * All reads and type checks run before the first write: a script that fails half-way is not rolled back, so any
 * error must come before anything is written. Redis checks memory (OOM) at a script's first write and lets the
 * rest through, so an OOM refusal also leaves nothing behind.
 */
export const APPEND_SCRIPT = `
local function assertSortedSet(key)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'zset' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE ad-seller-events: key ' .. key .. ' holds a ' .. kind .. ', not a sorted set')
  end
end

local count = #ARGV / 3
local outcome, fresh, inBatch = {}, {}, {}
local cursor = 3
for i = 1, count do
  local id, indexCount = ARGV[3 * i - 2], tonumber(ARGV[3 * i])
  local stored = inBatch[id] or redis.call('GET', KEYS[cursor])
  if stored then
    outcome[i] = stored
  else
    outcome[i] = false
    inBatch[id] = ARGV[3 * i - 1]
    for k = cursor + 1, cursor + indexCount do
      local failure = assertSortedSet(KEYS[k])
      if failure then return failure end
    end
    fresh[#fresh + 1] = { i, cursor, indexCount }
  end
  cursor = cursor + 1 + indexCount
end
if #fresh == 0 then return outcome end
local failure = assertSortedSet(KEYS[2])
if failure then return failure end

local seq = redis.call('INCRBY', KEYS[1], #fresh) - #fresh
for _, entry in ipairs(fresh) do
  local i, recordAt, indexCount = entry[1], entry[2], entry[3]
  local id = ARGV[3 * i - 2]
  seq = seq + 1
  redis.call('SET', KEYS[recordAt], ARGV[3 * i - 1])
  redis.call('ZADD', KEYS[2], seq, id)
  for k = recordAt + 1, recordAt + indexCount do
    redis.call('ZADD', KEYS[k], seq, id)
  end
end
return outcome
`;

/**
 * Reads the next `count` entries of the union of several sorted sets in score (append) order, in one round trip.
 * Each set contributes at most `count` entries, which is all the merged first `count` can need from any one set.
 *
 * KEYS: the sorted sets. ARGV: "asc" or "desc", the start bound and the end bound in ZRANGEBYSCORE syntax
 * (start first, whatever the direction), count. Returns a flat list of member, score.
 */
export const RANGE_SCRIPT = `
local ascending = ARGV[1] == 'asc'
local from, to, count = ARGV[2], ARGV[3], tonumber(ARGV[4])
local merged = {}
for i = 1, #KEYS do
  local rows
  if ascending then
    rows = redis.call('ZRANGEBYSCORE', KEYS[i], from, to, 'WITHSCORES', 'LIMIT', 0, count)
  else
    rows = redis.call('ZREVRANGEBYSCORE', KEYS[i], from, to, 'WITHSCORES', 'LIMIT', 0, count)
  end
  for j = 1, #rows, 2 do
    merged[#merged + 1] = { tonumber(rows[j + 1]), rows[j], rows[j + 1] }
  end
end
if #KEYS > 1 then
  if ascending then
    table.sort(merged, function(a, b) return a[1] < b[1] end)
  else
    table.sort(merged, function(a, b) return a[1] > b[1] end)
  end
end
local out = {}
for j = 1, math.min(count, #merged) do
  out[#out + 1] = merged[j][2]
  out[#out + 1] = merged[j][3]
end
return out
`;

/**
 * {@link RANGE_SCRIPT} declared read-only (Redis 7 script flags), so that Redis runs it during `CLIENT PAUSE WRITE`
 * (what a failover does) and on a read-only replica. Called with `EVALSHA_RO`, then `EVAL_RO` when Redis lacks it:
 * plain `EVALSHA` of a script Redis does not know yet is held back for the whole pause, `EVALSHA_RO` is not.
 */
export const READ_ONLY_RANGE_SCRIPT = `#!lua flags=no-writes\n${RANGE_SCRIPT.trimStart()}`;
const READ_ONLY_RANGE_SHA = createHash("sha1").update(READ_ONLY_RANGE_SCRIPT).digest("hex");

// Namespaced so that they cannot clash with commands the caller defines on the same client.
const APPEND_COMMAND = "adSellerEventsAppendV1";
const RANGE_COMMAND = "adSellerEventsRangeV1";

/**
 * The two scripts, callable on the caller's client: the append by EVALSHA (falling back to EVAL when Redis lacks the
 * script), the range read-only by EVALSHA_RO / EVAL_RO (plain EVALSHA / EVAL before Redis 7).
 */
export interface RedisScripts {
  /** Runs {@link APPEND_SCRIPT}; resolves per event with `null` (stored) or the JSON already stored. */
  append(keys: readonly string[], args: readonly string[]): Promise<(string | null)[]>;
  /** Runs {@link READ_ONLY_RANGE_SCRIPT}; resolves with member, score, member, score... */
  range(keys: readonly string[], args: readonly string[]): Promise<string[]>;
}

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** Registers the scripts on the client once (`defineCommand` is idempotent per name) and returns callers. */
export function defineScripts(client: Redis | Cluster): RedisScripts {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[APPEND_COMMAND] !== "function") client.defineCommand(APPEND_COMMAND, { lua: APPEND_SCRIPT });
  if (typeof commands[RANGE_COMMAND] !== "function") {
    client.defineCommand(RANGE_COMMAND, { lua: RANGE_SCRIPT, readOnly: true });
  }
  const call = (name: string, keys: readonly string[], args: readonly string[]) =>
    (commands[name] as ScriptCommand).call(client, keys.length, ...keys, ...args);
  // Servers before Redis 7 know neither EVALSHA_RO nor script flags: they get the plain script, once told apart.
  let readOnlyCommands = true;
  const range = async (keys: readonly string[], args: readonly string[]): Promise<string[]> => {
    if (!readOnlyCommands) return (await call(RANGE_COMMAND, keys, args)) as string[];
    const keysAndArgs = [String(keys.length), ...keys, ...args];
    try {
      try {
        return (await client.call("EVALSHA_RO", READ_ONLY_RANGE_SHA, ...keysAndArgs)) as string[];
      } catch (error) {
        if (!errorStarts(error, "NOSCRIPT")) throw error;
        return (await client.call("EVAL_RO", READ_ONLY_RANGE_SCRIPT, ...keysAndArgs)) as string[];
      }
    } catch (error) {
      if (!errorStarts(error, "ERR unknown command")) throw error;
      readOnlyCommands = false;
      return (await call(RANGE_COMMAND, keys, args)) as string[];
    }
  };
  return {
    // The command's own promise, not an async wrapper: every extra frame costs a microtask on the append hot path.
    append: (keys, args) => call(APPEND_COMMAND, keys, args) as Promise<(string | null)[]>,
    range,
  };
}

function errorStarts(error: unknown, prefix: string): boolean {
  return error instanceof Error && error.message.startsWith(prefix);
}
