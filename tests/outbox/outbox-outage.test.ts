import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, type EventStorage, StorageError } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { drained, outboxFolder, outboxLines } from "../support/outbox.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const pgAvailable = await serviceAvailable("PostgreSQL", PG_URL);
const redisAvailable = await serviceAvailable("Redis", REDIS_URL);
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** A store reached through the proxy (the one the outbox bus uses) and the same store reached directly. */
interface StoreUnderTest {
  readonly behindProxy: EventStorage;
  readonly direct: EventStorage;
}

async function proxyTo(url: string, defaultPort: number): Promise<TcpProxy> {
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || defaultPort) });
  cleanups.push(() => proxy.close());
  return proxy;
}

function postgresStores(proxy: TcpProxy): StoreUnderTest {
  const table = uniqueName("outbox");
  const url = new URL(PG_URL);
  url.host = `127.0.0.1:${proxy.port}`;
  const proxied: pg.Pool = createPool(url.href, { connectionTimeoutMillis: 1000 });
  const direct: pg.Pool = createPool(PG_URL);
  cleanups.push(
    () => dropTestObjects(PG_URL, { tables: [table] }),
    () => proxied.end(),
    () => direct.end(),
  );
  // notify: false keeps the proxied pool to the one connection the appends use: a pg_notify in flight would make the
  // next append open a second connection, whose handshake a proxy that loses replies never completes.
  return {
    behindProxy: postgresStorage({ pool: proxied, table, notify: false }),
    direct: postgresStorage({ pool: direct, table }),
  };
}

function redisStores(proxy: TcpProxy): StoreUnderTest {
  const prefix = uniquePrefix("outbox");
  const proxied = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 0, lazyConnect: true });
  const direct = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  proxied.on("error", () => {});
  cleanups.push(
    async () => proxied.disconnect(),
    async () => {
      await deleteStore(direct, prefix);
      direct.disconnect();
    },
  );
  return {
    behindProxy: redisStorage({ client: proxied, prefix, timeoutMs: 2000 }),
    direct: redisStorage({ client: direct, prefix }),
  };
}

/** Polls `check` until it holds; with a deadline, never asserting on time. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function outageSuite(name: string, available: boolean, stores: (proxy: TcpProxy) => StoreUnderTest, port: number) {
  describe.skipIf(!available)(`the outbox in front of ${name} behind a cut connection`, () => {
    it("resolves audit emits into the file during the outage, rejects others, replays each exactly once", async () => {
      const proxy = await proxyTo(name === "PostgreSQL" ? PG_URL : REDIS_URL, port);
      const { behindProxy, direct } = stores(proxy);
      const { path, remove } = await outboxFolder();
      cleanups.push(remove);
      const outbox = fileOutbox({ path, retry: { initialDelayMs: 20, maxDelayMs: 200 }, onError: () => {} });
      const bus = new EventBus({ storage: behindProxy, outbox });
      cleanups.push(() => bus.close());
      const seen: string[] = [];
      bus.subscribe("*", (event) => {
        seen.push(event.event_id);
      });
      const before = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-0" });

      proxy.cut();
      const during: Event[] = [];
      for (let index = 1; index <= 5; index++) {
        during.push(await bus.emitEvent({ event_type: "deal.created", deal_id: `d-${index}`, payload: { index } }));
      }
      await expect(bus.emitEvent({ event_type: "session.created" })).rejects.toBeInstanceOf(StorageError);
      expect(bus.outboxStatus().pending).toBe(5);
      expect(bus.outboxStatus().oldest_timestamp).toBe(during[0]?.timestamp);
      expect(bus.outboxStatus().last_error).toBeTypeOf("string");
      expect(await outboxLines(path)).toEqual(during.map((event) => JSON.parse(JSON.stringify(event))));
      expect(seen).toEqual([before.event_id]);

      proxy.restore();
      await drained(bus, path);
      const reader = new EventBus({ storage: direct });
      const stored = await reader.listEvents({ event_type: "deal.created", limit: 100 });
      expect(stored.map((event) => event.event_id)).toEqual([before, ...during].map((event) => event.event_id));
      expect(seen).toEqual([before, ...during].map((event) => event.event_id));
    });

    it("stores an event once when the connection died after the store committed it, before the reply", async () => {
      const proxy = await proxyTo(name === "PostgreSQL" ? PG_URL : REDIS_URL, port);
      const { behindProxy, direct } = stores(proxy);
      const { path, remove } = await outboxFolder();
      cleanups.push(remove);
      const outbox = fileOutbox({ path, retry: { initialDelayMs: 20, maxDelayMs: 200 }, onError: () => {} });
      const bus = new EventBus({ storage: behindProxy, outbox });
      cleanups.push(() => bus.close());
      const reader = new EventBus({ storage: direct });
      await bus.emitEvent({ event_type: "approval.requested" }); // connected and set up

      proxy.loseReplies();
      const eventId = crypto.randomUUID();
      const emitted = bus.emitEvent({ event_id: eventId, event_type: "approval.granted", payload: { gate: "g" } });
      await until(async () => (await reader.getEvent(eventId)) !== null, "the store to commit the event");
      proxy.cut();
      const event = await emitted;
      expect(event.event_id).toBe(eventId);
      expect(bus.outboxStatus().pending).toBe(1);

      proxy.restore();
      await drained(bus, path);
      // PostgreSQL lists an event once the table's sequencer has given it a position: its leader was behind the cut.
      const listed = () => reader.listEvents({ event_type: "approval.granted", limit: 100 });
      await until(async () => (await listed()).length > 0, "the event to be listed");
      expect(await listed()).toEqual([event]);
      // Confirmed as the identical stored event, not set aside as a conflict.
      expect(existsSync(`${path}.rejected`)).toBe(false);
    });
  });
}

outageSuite("PostgreSQL", pgAvailable, postgresStores, 5432);
outageSuite("Redis", redisAvailable, redisStores, 6379);
