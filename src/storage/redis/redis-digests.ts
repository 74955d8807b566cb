import type { Cluster, Redis } from "ioredis";
import type { DigestRecord, DigestStore } from "../types.js";

/**
 * The keys of one audit log: a hash `{prefix}audit:{log}` (field: the key in decimal, value: the record) and a
 * sorted set `{prefix}audit:{log}:keys` (member and score: the key) that orders it. Both share the prefix, so a
 * hash-tagged prefix keeps them in one Cluster slot.
 *
 * @example
 * ```ts
 * const keys = redisDigestKeys("ad_seller:", "trail:audit:digests");
 * const newest = await redis.zrange(keys.order, -1, -1);
 * ```
 */
export function redisDigestKeys(prefix: string, log: string): { readonly records: string; readonly order: string } {
  return { records: `${prefix}audit:${log}`, order: `${prefix}audit:${log}:keys` };
}

/** KEYS: records, order. ARGV: key1, value1, key2, value2, ... Writes all of them, or nothing and 0 on a taken key. */
const APPEND_SCRIPT = `
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then return 0 end
end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i])
end
return 1`;

/** Audit records in Redis: an append is one Lua script, so racing writers cannot both take a key. */
export function redisDigests(
  client: Redis | Cluster,
  prefix: string,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): DigestStore {
  const read = async (records: string, keys: string[]): Promise<DigestRecord[]> => {
    if (keys.length === 0) return [];
    const values = await client.hmget(records, ...keys);
    // A key listed in the order set without its record reads as an empty value: the verifier reports it.
    return keys.map((key, index) => Object.freeze({ key: Number(key), value: values[index] ?? "" }));
  };

  return {
    append: (log, batch) =>
      run("digests.append", async () => {
        const keys = redisDigestKeys(prefix, log);
        const args = batch.flatMap((record) => [String(record.key), record.value]);
        return (await client.eval(APPEND_SCRIPT, 2, keys.records, keys.order, ...args)) === 1;
      }),
    range: (log, afterKey, limit) =>
      run("digests.range", async () => {
        const keys = redisDigestKeys(prefix, log);
        const found = await client.zrangebyscore(keys.order, `(${afterKey}`, "+inf", "LIMIT", 0, limit);
        return read(keys.records, found);
      }),
    last: (log) =>
      run("digests.last", async () => {
        const keys = redisDigestKeys(prefix, log);
        const [newest] = await read(keys.records, await client.zrange(keys.order, -1, -1));
        return newest ?? null;
      }),
  };
}
