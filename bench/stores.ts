// Storage set-ups shared by the benchmarks: each returns a fresh, empty store and a way to dispose of it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import pg from "pg";
import { type Event, type EventStorage, memoryStorage } from "../src/index.js";
import { postgresStorage } from "../src/storage/postgres/index.js";
import { redisStorage } from "../src/storage/redis/index.js";
import { sqliteStorage } from "../src/storage/sqlite/index.js";

export const PG_URL = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A fresh store plus what the raw floors need to reach the same backend. */
export interface BenchStore {
  readonly storage: EventStorage;
  readonly dispose: () => Promise<void>;
}

export function memoryStore(): BenchStore {
  const storage = memoryStorage();
  return { storage, dispose: () => storage.close() };
}

export function sqliteStore(
  options: { synchronous?: "full" | "normal" } = {},
): BenchStore & { database: Database.Database; table: string } {
  const directory = mkdtempSync(join(tmpdir(), "ase-bench-"));
  const database = new Database(join(directory, "events.sqlite"));
  const storage = sqliteStorage({ database, closeDatabase: true, synchronous: options.synchronous });
  return {
    storage,
    database,
    table: "events",
    dispose: async () => {
      await storage.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export function postgresStore(poolSize = 20): BenchStore & { pool: pg.Pool; table: string } {
  const pool = new pg.Pool({ connectionString: PG_URL, max: poolSize });
  const table = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const storage = postgresStorage({ pool, table });
  return {
    storage,
    pool,
    table,
    dispose: async () => {
      await storage.close();
      await dropPostgresTables(pool, table);
      await pool.end();
    },
  };
}

/** Drops a bench events table with the tables the store created beside it (pruned ids, consumers, audit, ...). */
export async function dropPostgresTables(pool: pg.Pool, table: string): Promise<void> {
  const suffixes = ["", "_pruned", "_consumers", "_dead_letters", "_audit", "_webhooks", "_webhook_log"];
  await pool.query(`DROP TABLE IF EXISTS ${suffixes.map((suffix) => `public.${table}${suffix}`).join(", ")} CASCADE`);
}

export function redisStore(options: { notify?: boolean } = {}): BenchStore & { client: Redis; prefix: string } {
  const client = new Redis(REDIS_URL);
  const prefix = `bench:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
  const storage = redisStorage({ client, prefix, notify: options.notify });
  return {
    storage,
    client,
    prefix,
    dispose: async () => {
      await storage.close();
      await deleteByPrefix(client, prefix);
      client.disconnect();
    },
  };
}

async function deleteByPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== "0");
}

const BASE_TIME = Date.parse("2026-01-01T00:00:00.000Z");

/**
 * A frozen event for seeding: `sessions` sessions round-robin, two flow types alternating, one millisecond apart.
 */
export function seedEvent(index: number, sessions: number): Event {
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: index % 3 === 0 ? "negotiation.round" : "proposal.evaluated",
    timestamp: new Date(BASE_TIME + index).toISOString(),
    flow_id: `flow-${index % 5000}`,
    flow_type: index % 2 === 0 ? "proposal_handling" : "deal_sync",
    proposal_id: `proposal-${index % 20_000}`,
    deal_id: "",
    session_id: `session-${index % sessions}`,
    payload: Object.freeze({ round: index % 7, cpm: 12.5, currency: "USD" }),
    metadata: Object.freeze({}),
  });
}

/** Appends `count` seed events in batches, returning a sample of their ids for lookups. */
export async function seedStore(storage: EventStorage, count: number, sessions: number): Promise<string[]> {
  const sample: string[] = [];
  const batchSize = 2000;
  for (let start = 0; start < count; start += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, count - start) }, (_, offset) =>
      seedEvent(start + offset, sessions),
    );
    await storage.append(batch);
    sample.push((batch[0] as Event).event_id);
  }
  return sample;
}

/** Why PostgreSQL cannot be used (e.g. "connect ECONNREFUSED"), or `undefined` when it answers. */
export async function postgresUnreachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${PG_URL} is unreachable (${(error as Error).message}); set PG_URL to benchmark it`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why Redis cannot be used, or `undefined` when it answers PING. */
export async function redisUnreachable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 });
  client.on("error", () => undefined); // the failure is reported below
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${REDIS_URL} is unreachable (${(error as Error).message}); set REDIS_URL to benchmark it`;
  } finally {
    client.disconnect();
  }
}

/** The payload of a typical negotiation round, as every emit benchmark sends it. */
export function payloadFor(index: number) {
  return { round: index, cpm: 12.5, currency: "USD", lines: [{ sku: "banner-300x250", impressions: 100_000 }] };
}

/** The event a seller flow typically emits, built the way the bus builds it (one literal, frozen). */
export function typicalEvent(index: number): Event {
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: "negotiation.round",
    timestamp: new Date().toISOString(),
    flow_id: "flow-1",
    flow_type: "proposal_handling",
    proposal_id: "proposal-1",
    deal_id: "",
    session_id: "session-1",
    payload: Object.freeze(payloadFor(index)),
    metadata: Object.freeze({}),
  });
}

/** The columns a raw floor writes, as the adapters do (`seq` and `xid` come from their defaults). */
export const ROW_COLUMNS =
  'event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload, metadata';

/** The values of one row in column order: what any code storing this event must compute and bind. */
export function rowValues(event: Event): string[] {
  return [
    event.event_id,
    event.event_type,
    event.timestamp,
    event.flow_id,
    event.flow_type,
    event.proposal_id,
    event.deal_id,
    event.session_id,
    JSON.stringify(event.payload),
    JSON.stringify(event.metadata),
  ];
}
