import type { Cluster, Redis } from "ioredis";
import type { CheckpointStore, ConsumerLease, ConsumerQuery, ConsumerRecord, DeadLetter } from "../types.js";

/**
 * The keys of one consumer name: a hash `{prefix}consumer:{name}` (fields `position`, `owner`, `generation`,
 * `expires_at` and `last_seen` in milliseconds of the server's clock, `query` as JSON) and a list
 * `{prefix}consumer-dead:{name}` of dead letters, each the JSON of a `DeadLetter`. Every name that took a lease is
 * in the set `{prefix}consumers`. Created on first use like every other key.
 *
 * @example
 * ```ts
 * const keys = redisConsumerKeys("ad_seller:", "warehouse-export");
 * const position = await redis.hget(keys.state, "position");
 * ```
 */
export function redisConsumerKeys(
  prefix: string,
  name: string,
): { readonly state: string; readonly deadLetters: string } {
  return { state: `${prefix}consumer:${name}`, deadLetters: `${prefix}consumer-dead:${name}` };
}

// Every script reads the server's clock with TIME (allowed in scripts since Redis 5's effect replication), so
// lease expiry never depends on a client's clock.
const NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";
const IS_CURRENT =
  "redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'generation') == ARGV[2]";

/**
 * KEYS: state, the set of names. ARGV: owner, leaseMs, the query's JSON ("" for none), the name. Returns the
 * generation granted, or nil while another owner holds it.
 */
const ACQUIRE_SCRIPT = `${NOW}
local owner = redis.call('HGET', KEYS[1], 'owner')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0')
local generation = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
local held = owner and expires > now
if held and owner ~= ARGV[1] then return false end
if not held then generation = generation + 1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'generation', generation, 'expires_at', now + tonumber(ARGV[2]), 'last_seen', now)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'query', ARGV[3]) end
redis.call('SADD', KEYS[2], ARGV[4])
return generation`;

/** KEYS: state. ARGV: owner, generation, expiry offset in ms (0 releases). Returns 1 when still current. */
const EXTEND_SCRIPT = `${NOW}
if not (${IS_CURRENT}) then return 0 end
local offset = tonumber(ARGV[3])
if offset > 0 then redis.call('HSET', KEYS[1], 'expires_at', now + offset, 'last_seen', now)
else redis.call('HSET', KEYS[1], 'expires_at', 0) end
return 1`;

/**
 * KEYS: state, dead letters. ARGV: owner, generation, "1" when a position is expected (else "0"), the expected
 * position, the new position, then one dead-letter JSON per letter. Returns 1 when written.
 */
const WRITE_SCRIPT = `${NOW}
if not (${IS_CURRENT}) then return 0 end
local expected = false
if ARGV[3] == '1' then expected = ARGV[4] end
if redis.call('HGET', KEYS[1], 'position') ~= expected then return 0 end
redis.call('HSET', KEYS[1], 'position', ARGV[5], 'last_seen', now)
for i = 6, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return 1`;

const COMMANDS = {
  acquire: ["adSellerEventsLeaseAcquireV2", ACQUIRE_SCRIPT, 2],
  extend: ["adSellerEventsLeaseExtendV2", EXTEND_SCRIPT, 1],
  write: ["adSellerEventsCheckpointWriteV2", WRITE_SCRIPT, 2],
} as const;

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * Checkpoints and leases in Redis, as keys beside the events under the same prefix. Each step is one Lua script
 * (atomic); lease expiry is judged by the server's `TIME`.
 */
export function redisCheckpoints(
  client: Redis | Cluster,
  prefix: string,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): CheckpointStore {
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  for (const [command, lua, numberOfKeys] of Object.values(COMMANDS)) {
    if (typeof commands[command] !== "function") client.defineCommand(command, { lua, numberOfKeys });
  }
  const script = (which: keyof typeof COMMANDS, ...args: (string | number)[]) =>
    (commands[COMMANDS[which][0]] as ScriptCommand).apply(client, args);
  const keysOf = (name: string) => redisConsumerKeys(prefix, name);
  const namesKey = `${prefix}consumers`;
  const extend = (lease: ConsumerLease, offsetMs: number) =>
    script("extend", keysOf(lease.name).state, lease.owner, String(lease.generation), offsetMs);

  return {
    acquireLease: (name, owner, leaseMs, query?: ConsumerQuery) =>
      run("acquireLease", async () => {
        const json = query === undefined ? "" : JSON.stringify(query);
        const generation = await script("acquire", keysOf(name).state, namesKey, owner, leaseMs, json, name);
        return generation === null ? null : { name, owner, generation: Number(generation) };
      }),
    renewLease: (lease, leaseMs) => run("renewLease", async () => (await extend(lease, leaseMs)) === 1),
    releaseLease: (lease) =>
      run("releaseLease", async () => {
        await extend(lease, 0);
      }),
    readCheckpoint: (name) => run("readCheckpoint", () => client.hget(keysOf(name).state, "position")),
    writeCheckpoint: (lease, write) =>
      run("writeCheckpoint", async () => {
        const keys = keysOf(lease.name);
        const failedAt = new Date().toISOString();
        const letters = (write.deadLetters ?? []).map((letter) =>
          JSON.stringify({ event_id: letter.event_id, error: letter.error, failed_at: failedAt }),
        );
        const expected = write.expected === null ? ["0", ""] : ["1", write.expected];
        const written = await script(
          "write",
          keys.state,
          keys.deadLetters,
          lease.owner,
          String(lease.generation),
          ...expected,
          write.position,
          ...letters,
        );
        return written === 1;
      }),
    deadLetters: (name) =>
      run("deadLetters", async () =>
        (await client.lrange(keysOf(name).deadLetters, 0, -1)).map((text) =>
          Object.freeze(JSON.parse(text) as DeadLetter),
        ),
      ),
    listConsumers: () =>
      run("listConsumers", async () => {
        const names = (await client.smembers(namesKey)).sort();
        const fields = await Promise.all(
          names.map((name) => client.hmget(keysOf(name).state, "position", "query", "last_seen")),
        );
        return names.map((name, index): ConsumerRecord => {
          const [position, query, lastSeen] = fields[index] as (string | null)[];
          return {
            name,
            position: position ?? null,
            query: query == null ? null : (JSON.parse(query) as ConsumerQuery),
            last_seen: lastSeen == null ? null : new Date(Number(lastSeen)).toISOString(),
          };
        });
      }),
  };
}
