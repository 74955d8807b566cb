import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, EventGapError, type EventStorage, memoryStorage } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

// Issue 19: one prune stopped every tail of a bus (the shared reader's cursor named a pruned event), a pruned cursor
// was retried as an outage forever, and a consumer with a pruned checkpoint stalled while reporting "active".
const ROUND = "session.resumed" as const; // pruned by default
const AUDIT = "deal.created" as const; // kept by default (an audit type)
const FUTURE = () => new Date(Date.now() + 60_000);

const openSqlite = await loadAnySqlite();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

type StoreKind = "memory" | "sqlite" | "postgres" | "redis";
const available: Record<StoreKind, boolean> = {
  memory: true,
  sqlite: true,
  postgres: await serviceAvailable("PostgreSQL", PG_URL),
  redis: await serviceAvailable("Redis", REDIS_URL),
};

/** A fresh, empty store of `kind`; everything it creates is dropped after the file. */
function openStore(kind: StoreKind): EventStorage {
  switch (kind) {
    case "memory":
      return memoryStorage();
    case "sqlite": {
      const file = join(tmpdir(), `${uniqueName("retention")}.db`);
      cleanups.push(async () => rmSync(file, { force: true }));
      return sqliteStorage({ database: openSqlite(file), closeDatabase: true });
    }
    case "postgres": {
      const table = uniqueName("retention");
      cleanups.push(() => dropTestObjects(PG_URL, { tables: [table, `${table}_pruned`, `${table}_consumers`] }));
      return postgresStorage({ pool: createPool(PG_URL), table, closePool: true });
    }
    case "redis": {
      const prefix = uniquePrefix("retention");
      cleanups.push(async () => {
        const admin = new Redis(REDIS_URL);
        await deleteStore(admin, prefix);
        await admin.quit();
      });
      return redisStorage({ client: new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), prefix, closeClient: true });
    }
  }
}

function openBus(kind: StoreKind): { bus: EventBus; storage: EventStorage & Required<Pick<EventStorage, "prune">> } {
  const storage = openStore(kind) as EventStorage & Required<Pick<EventStorage, "prune">>;
  return { bus: new EventBus({ storage, closeStorage: true }), storage };
}

/** The next `count` events of a tail. */
async function next(tail: AsyncIterator<Event>, count: number): Promise<Event[]> {
  const events: Event[] = [];
  while (events.length < count) {
    const result = await tail.next();
    if (result.done) break;
    events.push(result.value);
  }
  return events;
}

const ids = (events: readonly Event[]) => events.map((event) => event.event_id);

describe.each(["memory", "sqlite", "postgres", "redis"] as const)("retention under live readers on %s", (kind) => {
  it.runIf(available[kind])("a prune of the newest events stops no tail, audit or not", async () => {
    const { bus, storage } = openBus(kind);
    const everything = bus.tail({});
    const audits = bus.tail({ event_type: AUDIT });
    const first = everything.next();
    const round = await bus.emitEvent({ event_type: ROUND });
    expect((await first).value?.event_id).toBe(round.event_id);
    // The newest stored event (the one the shared reader read last) goes.
    expect(await storage.prune({ before: FUTURE() })).toBe(1);
    const after = [await bus.emitEvent({ event_type: AUDIT }), await bus.emitEvent({ event_type: ROUND })];
    expect(ids(await next(everything, 2))).toEqual(ids(after));
    expect(ids(await next(audits, 1))).toEqual([after[0]?.event_id]);
    await bus.close();
  });

  it.runIf(available[kind])("prune refuses an unknown option, naming the one meant, and deletes nothing", async () => {
    const { bus, storage } = openBus(kind);
    const event = await bus.emitEvent({ event_type: ROUND });
    const misspelt = { befor: FUTURE(), before: FUTURE() } as never;
    await expect(storage.prune(misspelt)).rejects.toThrow(/befor: is not an option of prune.*before/);
    expect(await bus.getEvent(event.event_id)).not.toBeNull();
    await bus.close();
  });

  it.runIf(available[kind])("a tail after a pruned event throws EventGapError with oldest, at once", async () => {
    const { bus, storage } = openBus(kind);
    const pruned = await bus.emitEvent({ event_type: ROUND });
    const kept = await bus.emitEvent({ event_type: AUDIT });
    await storage.prune({ before: FUTURE() });
    const errors: unknown[] = [];
    const tail = bus.tail({ after: pruned.event_id }, { onError: (error) => errors.push(error) });
    const gap = await tail.next().catch((error: unknown) => error);
    expect(gap).toBeInstanceOf(EventGapError);
    expect((gap as EventGapError).oldest?.event_id).toBe(kept.event_id);
    expect(errors).toEqual([]); // a gap is not an outage: nothing retried
    expect(await tail.next()).toEqual({ done: true, value: undefined });
    await bus.close();
  });

  it.runIf(available[kind])('onGap: "oldest" reports the gap and goes on from the oldest retained match', async () => {
    const { bus, storage } = openBus(kind);
    const pruned = await bus.emitEvent({ event_type: ROUND });
    const kept = await bus.emitEvent({ event_type: AUDIT });
    await storage.prune({ before: FUTURE() });
    const errors: unknown[] = [];
    const tail = bus.tail({ from: pruned.event_id }, { onGap: "oldest", onError: (error) => errors.push(error) });
    expect(ids(await next(tail, 1))).toEqual([kept.event_id]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EventGapError);
    const later = await bus.emitEvent({ event_type: ROUND });
    expect(ids(await next(tail, 1))).toEqual([later.event_id]);
    await bus.close();
  });

  it.runIf(available[kind])("a consumer whose checkpoint was pruned fails with the gap, lag visible", async () => {
    const { bus, storage } = openBus(kind);
    const handled: string[] = [];
    const first = await bus.emitEvent({ event_type: ROUND });
    const consumer = bus.consume(uniqueName("gap"), async (events) => void handled.push(...ids(events)));
    await waitUntil(() => consumer.status().position === first.event_id);
    await consumer.stop();
    // The consumer was seen a moment ago and would hold its events back: this prunes past it on purpose.
    await storage.prune({ before: FUTURE(), consumers: "ignore" });
    const kept = await bus.emitEvent({ event_type: AUDIT });
    const again = bus.consume(consumer.name, async (events) => void handled.push(...ids(events)));
    await again.stopped;
    const status = again.status();
    expect(status.state).toBe("failed");
    expect(status.last_error).toMatch(/retention has deleted/);
    expect(status.lag).toBe(1);
    const moving = bus.consume(consumer.name, async (events) => void handled.push(...ids(events)), { onGap: "oldest" });
    await waitUntil(() => moving.status().position === kept.event_id);
    expect(moving.status().gaps).toEqual([
      { after: first.event_id, resumed_at: kept.event_id, detected_at: expect.any(String) },
    ]);
    expect(handled).toEqual([first.event_id, kept.event_id]);
    await moving.stop();
    await bus.close();
  });
});

describe.each(["memory", "sqlite", "postgres", "redis"] as const)("a tail with no cursor on %s", (kind) => {
  it.runIf(available[kind])(
    "gets every event appended after tail() returned, however late its first read",
    async () => {
      const { bus: writer, storage } = openBus(kind);
      // The reader's first read reaches the store only after the other writer's appends (a slow pool, a busy loop).
      const slow: EventStorage = {
        name: storage.name,
        append: (events) => storage.append(events),
        get: (id) => storage.get(id),
        list: async (query) => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return storage.list(query);
        },
        close: async () => {},
      };
      const reader = new EventBus({ storage: slow });
      const before = await writer.emitEvent({ event_type: ROUND });
      // (An event stamped in the very millisecond of tail() may be included: the documented "a few just before".)
      await new Promise((resolve) => setTimeout(resolve, 5));
      const tail = reader.tail({});
      const appended = [await writer.emitEvent({ event_type: ROUND }), await writer.emitEvent({ event_type: AUDIT })];
      const got = await next(tail, 2);
      expect(ids(got)).toEqual(ids(appended));
      expect(ids(got)).not.toContain(before.event_id);
      await reader.close();
      await writer.close();
    },
  );
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
