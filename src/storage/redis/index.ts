/**
 * The shared store for a fleet: events and their indexes in Redis, appended by one Lua script.
 *
 * @module ad-seller-events/redis
 */
export { DEFAULT_REDIS_PREFIX } from "./redis-schema.js";
export type { RedisStorageOptions } from "./redis-storage.js";
export { DEFAULT_REDIS_TIMEOUT_MS, redisStorage } from "./redis-storage.js";
