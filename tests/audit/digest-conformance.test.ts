// The digests cases of the conformance suite on all four built-in adapters (the switch `digests: true`).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { memoryStorage } from "../../src/storage/memory/memory-storage.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import type { EventStorage } from "../../src/storage/types.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

const openSqlite = await loadAnySqlite();
const directory = mkdtempSync(join(tmpdir(), "ad-seller-events-digests-"));
const pool = (await serviceAvailable("PostgreSQL", PG_URL)) ? createPool(PG_URL) : undefined;
const redis = (await serviceAvailable("Redis", REDIS_URL))
  ? new Redis(REDIS_URL, { maxRetriesPerRequest: 0 })
  : undefined;
const tables: string[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  if (pool !== undefined) {
    await pool.end();
    const suffixes = ["", "_consumers", "_dead_letters", "_pruned", "_audit"];
    await dropTestObjects(PG_URL, { tables: tables.flatMap((table) => suffixes.map((suffix) => `${table}${suffix}`)) });
  }
  if (redis !== undefined) {
    for (const prefix of prefixes) await deleteStore(redis, prefix);
    redis.disconnect();
  }
  rmSync(directory, { recursive: true, force: true });
});

const stores: [string, (() => EventStorage) | undefined][] = [
  ["memory", () => memoryStorage()],
  [
    "sqlite",
    () => sqliteStorage({ database: openSqlite(join(directory, `${uniqueName("d")}.sqlite`)), closeDatabase: true }),
  ],
  [
    "postgres",
    pool &&
      (() => {
        const table = uniqueName("digests");
        tables.push(table);
        return postgresStorage({ pool, table });
      }),
  ],
  [
    "redis",
    redis &&
      (() => {
        const prefix = uniquePrefix("digests");
        prefixes.push(prefix);
        return redisStorage({ client: redis, prefix });
      }),
  ],
];

for (const [name, createStorage] of stores) {
  // An unreachable service was reported loudly (or failed the run under REQUIRE_SERVICES=1) by serviceAvailable.
  describe.skipIf(createStorage === undefined)(`digests conformance: ${name} (needs the service)`, () => {
    if (createStorage === undefined) return;
    // Only the digests cases: the rest of the suite runs in tests/storage/.
    const only = (title: string) => title.startsWith("digests:");
    const filtered = ((title: string, body: () => Promise<void>, timeout?: number) =>
      only(title) ? it(title, body, timeout) : undefined) as unknown as typeof it;
    describeStorageConformance({ name, createStorage, digests: true, describe, it: filtered, expect });
  });
}
