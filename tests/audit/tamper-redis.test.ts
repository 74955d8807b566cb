// Direct tampering in Redis: raw commands on the event records, the log sorted set and the audit keys.
import { Redis } from "ioredis";
import { afterAll, describe } from "vitest";
import type { Event } from "../../src/event/event.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { redisDigestKeys } from "../../src/storage/redis/redis-digests.js";
import { redisKeyLayout } from "../../src/storage/redis/redis-schema.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { REDIS_URL, serviceAvailable } from "../support/services.js";
import { describeTampering } from "./tamper-scenarios.js";

const available = await serviceAvailable("Redis", REDIS_URL);
const redis = available ? new Redis(REDIS_URL, { maxRetriesPerRequest: 0 }) : undefined;
const prefixes: string[] = [];
afterAll(async () => {
  if (redis === undefined) return;
  for (const prefix of prefixes) await deleteStore(redis, prefix);
  redis.disconnect();
});

// An unreachable server was reported loudly (or failed the run under REQUIRE_SERVICES=1) by serviceAvailable.
describe.skipIf(redis === undefined)("tampering with a Redis store (needs the server)", () => {
  if (redis === undefined) return;
  describeTampering("Redis", async () => {
    const prefix = uniquePrefix("audit");
    prefixes.push(prefix);
    const keys = redisKeyLayout(prefix);
    const scoreOf = async (eventId: string) => Number(await redis.zscore(keys.log, eventId));
    return {
      storage: redisStorage({ client: redis, prefix }),
      tamper: {
        async alterPayload(eventId) {
          const record = JSON.parse((await redis.get(keys.event(eventId))) ?? "{}");
          await redis.set(keys.event(eventId), JSON.stringify({ ...record, payload: { cpm: 1 } }));
        },
        async deleteEvent(eventId) {
          await redis.del(keys.event(eventId));
          await redis.zrem(keys.log, eventId);
        },
        async insertAfter(afterId, event: Event) {
          const score = await scoreOf(afterId);
          const later = await redis.zrangebyscore(keys.log, `(${score}`, "+inf", "WITHSCORES");
          for (let index = 0; index < later.length; index += 2) {
            await redis.zadd(keys.log, Number(later[index + 1]) + 1_000_000, later[index] as string);
          }
          await redis.set(keys.event(event.event_id), JSON.stringify(event));
          await redis.zadd(keys.log, score + 1, event.event_id);
        },
        async swap(first, second) {
          const [a, b] = [await scoreOf(first), await scoreOf(second)];
          await redis.zadd(keys.log, b, first, a, second);
        },
        async setRecord(log, key, value) {
          const audit = redisDigestKeys(prefix, log);
          if (value === null) {
            await redis.hdel(audit.records, String(key));
            await redis.zrem(audit.order, String(key));
          } else {
            await redis.hset(audit.records, String(key), value);
          }
        },
      },
    };
  });
});
