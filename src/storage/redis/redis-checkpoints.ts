import type { Cluster, Redis } from "ioredis";
import type { CheckpointStore, ConsumerLease, DeadLetter } from "../types.js";

/**
 * The keys of one consumer name: a hash `{prefix}consumer:{name}` (fields `position`, `owner`, `generation`,
 * `expires_at` in milliseconds of the server's clock) and a list `{prefix}consumer-dead:{name}` of dead letters,
 * each the JSON of a `DeadLetter`. Created on first use like every other key.
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

/** KEYS: state. ARGV: owner, leaseMs. Returns the generation granted, or nil while another owner holds it. */
const ACQUIRE_SCRIPT = `${NOW}
local owner = redis.call('HGET', KEYS[1], 'owner')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '0')
local generation = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
local held = owner and expires > now
if held and owner ~= ARGV[1] then return false end
if not held then generation = generation + 1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'generation', generation, 'expires_at', now + tonumber(ARGV[2]))
return generation`;

/** KEYS: state. ARGV: owner, generation, expiry offset in ms (0 releases). Returns 1 when still current. */
const EXTEND_SCRIPT = `${NOW}
if not (${IS_CURRENT}) then return 0 end
local offset = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'expires_at', offset > 0 and now + offset or 0)
return 1`;

/**
 * KEYS: state, dead letters. ARGV: owner, generation, "1" when a position is expected (else "0"), the expected
 * position, the new position, then one dead-letter JSON per letter. Returns 1 when written.
 */
const WRITE_SCRIPT = `
if not (${IS_CURRENT}) then return 0 end
local expected = false
if ARGV[3] == '1' then expected = ARGV[4] end
if redis.call('HGET', KEYS[1], 'position') ~= expected then return 0 end
redis.call('HSET', KEYS[1], 'position', ARGV[5])
for i = 6, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return 1`;

const COMMANDS = {
  acquire: ["adSellerEventsLeaseAcquireV1", ACQUIRE_SCRIPT, 1],
  extend: ["adSellerEventsLeaseExtendV1", EXTEND_SCRIPT, 1],
  write: ["adSellerEventsCheckpointWriteV1", WRITE_SCRIPT, 2],
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
  const extend = (lease: ConsumerLease, offsetMs: number) =>
    script("extend", keysOf(lease.name).state, lease.owner, String(lease.generation), offsetMs);

  return {
    acquireLease: (name, owner, leaseMs) =>
      run("acquireLease", async () => {
        const generation = await script("acquire", keysOf(name).state, owner, leaseMs);
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
  };
}
