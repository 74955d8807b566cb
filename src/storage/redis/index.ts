export { DEFAULT_REDIS_PREFIX } from "./redis-schema.js";
export type { RedisStorageOptions } from "./redis-storage.js";
export { DEFAULT_REDIS_TIMEOUT_MS, redisStorage } from "./redis-storage.js";
