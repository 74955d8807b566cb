import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * Reads the next `count` entries of the union of several sorted sets in score (append) order, with the record of
 * each, in one round trip. Each set contributes at most `count` entries, which is all the merged first `count` can
 * need from any one set.
 *
 * KEYS: the sorted sets. ARGV: "asc" or "desc", the start bound and the end bound in ZRANGEBYSCORE syntax (start
 * first, whatever the direction), count, and the record key prefix (`{prefix}event:`). Returns the number of entries
 * read, the score of the last one (absent when none), the members and the records, each joined with the control
 * character RS (0x1E), a record deleted by hand (its index entries left behind) as an empty text (an empty record,
 * no event either, goes as a space, so that it still fails as one). Two long texts
 * cost the client far less to take apart than a reply of two values per entry; JSON never holds a raw RS, and a
 * text that does (not an event anyway) is caught by the count and read apart.
 *
 * The record keys are built here from the prefix, not declared in KEYS: they are known only once the range is read.
 * On Redis Cluster every key of a store shares the prefix's hash tag (which Cluster requires of the append script
 * already), so the records are in the slot of the declared sets and the script stays on one node.
 */
export const RANGE_RECORDS_SCRIPT = `
local ascending = ARGV[1] == 'asc'
local from, to, count, recordPrefix = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
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
local n = math.min(count, #merged)
if n == 0 then return { 0 } end
local members, recordKeys = {}, {}
for j = 1, n do
  members[j] = merged[j][2]
  recordKeys[j] = recordPrefix .. members[j]
end
local records = redis.call('MGET', unpack(recordKeys))
for j = 1, n do
  if not records[j] then
    records[j] = ''
  elseif records[j] == '' then
    records[j] = ' '
  end
end
return { n, merged[n][3], table.concat(members, '\\30'), table.concat(records, '\\30') }
`;

/** The separator of the script's joined members and records (Lua's `'\30'`). */
const SEPARATOR = "\u001e";

// Namespaced so that it cannot clash with commands the caller defines on the same client.
const RANGE_RECORDS_COMMAND = "adSellerEventsRangeRecordsV1";

/** What {@link RANGE_RECORDS_SCRIPT} answers, split up. */
export interface RangeRecords {
  /** Entries read from the sets: fewer than `count` means the range ended. */
  readonly entries: number;
  /** The score of the last entry read, where the next chunk starts (exclusive). */
  readonly lastScore: string | undefined;
  /** The entries' members (event ids), in range order. */
  readonly ids: readonly string[];
  /** The record of each member, `null` when it is gone. */
  readonly texts: readonly (string | null)[];
}

/** The range read of a store, callable on the caller's client read-only by EVALSHA_RO / EVAL_RO (plain before Redis 7). */
export interface RedisRange {
  /** Runs {@link RANGE_RECORDS_SCRIPT} with ARGV direction, start, end, count (the record prefix is the store's). */
  records(keys: readonly string[], args: readonly string[]): Promise<RangeRecords>;
}

/** Registers the range script on the client once (`defineCommand` is idempotent per name) and returns its caller. */
export function defineRange(client: Redis | Cluster, recordPrefix: string): RedisRange {
  const script = defineReadScript(client, RANGE_RECORDS_COMMAND, RANGE_RECORDS_SCRIPT);
  return {
    async records(keys, args) {
      const [count, lastScore, members, records] = (await script(keys, [...args, recordPrefix])) as RangeReply;
      const entries = Number(count);
      if (entries === 0 || members === undefined || records === undefined) {
        return { entries: 0, lastScore: undefined, ids: [], texts: [] };
      }
      const ids = members.split(SEPARATOR);
      if (ids.length !== entries) throw new Error(`a sorted set of ${JSON.stringify(keys)} holds a member with RS`);
      const split = records.split(SEPARATOR);
      if (split.length === entries) return { entries, lastScore, ids, texts: split.map((text) => text || null) };
      // A record holding the separator is no event; read apart, it fails with its key like any broken record.
      return { entries, lastScore, ids, texts: await client.mget(ids.map((id) => recordPrefix + id)) };
    },
  };
}

type RangeReply = [number, string?, string?, string?];

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** Runs a read script: `EVALSHA_RO`, `EVAL_RO` when Redis lacks it, the plain script before Redis 7. */
export type ReadScript = (keys: readonly string[], args: readonly string[]) => Promise<unknown>;

/**
 * A read-only caller of a read script, registered on the client once under a namespaced `command`. The script runs
 * declared read-only (Redis 7 script flags), so that Redis runs it during `CLIENT PAUSE WRITE` (what a failover
 * does) and on a read-only replica: plain `EVALSHA` of a script Redis does not know yet is held back for the whole
 * pause, `EVALSHA_RO` is not.
 */
export function defineReadScript(client: Redis | Cluster, command: string, lua: string): ReadScript {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[command] !== "function") client.defineCommand(command, { lua, readOnly: true });
  const readOnlyLua = `#!lua flags=no-writes\n${lua.trimStart()}`;
  const sha = createHash("sha1").update(readOnlyLua).digest("hex");
  const plain = (keys: readonly string[], args: readonly string[]) =>
    (commands[command] as ScriptCommand).call(client, keys.length, ...keys, ...args);
  // Servers before Redis 7 know neither EVALSHA_RO nor script flags: they get the plain script, once told apart.
  let readOnlyCommands = true;
  return async (keys, args) => {
    if (!readOnlyCommands) return plain(keys, args);
    const keysAndArgs = [String(keys.length), ...keys, ...args];
    try {
      try {
        return await client.call("EVALSHA_RO", sha, ...keysAndArgs);
      } catch (error) {
        if (!errorStarts(error, "NOSCRIPT")) throw error;
        return await client.call("EVAL_RO", readOnlyLua, ...keysAndArgs);
      }
    } catch (error) {
      if (!errorStarts(error, "ERR unknown command")) throw error;
      readOnlyCommands = false;
      return plain(keys, args);
    }
  };
}

function errorStarts(error: unknown, prefix: string): boolean {
  return error instanceof Error && error.message.startsWith(prefix);
}
