export { redisConsumerKeys } from "./redis-checkpoints.js";
export { redisDigestKeys } from "./redis-digests.js";
export type { RedisIndexedField, RedisKeyLayout } from "./redis-keys.js";
export { DEFAULT_REDIS_PREFIX, REDIS_INDEXED_FIELDS, redisKeyLayout } from "./redis-keys.js";
export type { RedisStorageOptions } from "./redis-storage.js";
export { DEFAULT_REDIS_TIMEOUT_MS, redisStorage } from "./redis-storage.js";
