import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

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

// Namespaced so that it cannot clash with commands the caller defines on the same client.
const RANGE_COMMAND = "adSellerEventsRangeV1";

/** The range script, callable on the caller's client read-only by EVALSHA_RO / EVAL_RO (plain before Redis 7). */
export interface RedisRange {
  /** Runs {@link READ_ONLY_RANGE_SCRIPT}; resolves with member, score, member, score... */
  range(keys: readonly string[], args: readonly string[]): Promise<string[]>;
}

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** Registers the range script on the client once (`defineCommand` is idempotent per name) and returns its caller. */
export function defineRange(client: Redis | Cluster): RedisRange {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[RANGE_COMMAND] !== "function") {
    client.defineCommand(RANGE_COMMAND, { lua: RANGE_SCRIPT, readOnly: true });
  }
  const plain = (keys: readonly string[], args: readonly string[]) =>
    (commands[RANGE_COMMAND] as ScriptCommand).call(client, keys.length, ...keys, ...args) as Promise<string[]>;
  // Servers before Redis 7 know neither EVALSHA_RO nor script flags: they get the plain script, once told apart.
  let readOnlyCommands = true;
  const range = async (keys: readonly string[], args: readonly string[]): Promise<string[]> => {
    // One set needs no merge: the plain read command is what the script would run, without the script's overhead.
    if (keys.length === 1) return single(client, keys[0] as string, args);
    if (!readOnlyCommands) return plain(keys, args);
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
      return plain(keys, args);
    }
  };
  return { range };
}

function single(client: Redis | Cluster, key: string, args: readonly string[]): Promise<string[]> {
  const [direction, from, to, count] = args as [string, string, string, string];
  return direction === "asc"
    ? client.zrangebyscore(key, from, to, "WITHSCORES", "LIMIT", 0, count)
    : client.zrevrangebyscore(key, from, to, "WITHSCORES", "LIMIT", 0, count);
}

function errorStarts(error: unknown, prefix: string): boolean {
  return error instanceof Error && error.message.startsWith(prefix);
}
