// Stored JSON straight to the wire: the fast path (a store's listJson/getJson) must serve the very bytes the slow
// path (parse, freeze, JSON.stringify) serves, on every store, and every store must serve the same bytes.
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createEventsFetchHandler } from "../../src/http/index.js";
import { type Event, EventBus, type EventStorage, eventSchema, memoryStorage } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { redisKeyLayout } from "../../src/storage/redis/redis-schema.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

const openSqlite = await loadAnySqlite();

const pgAvailable = await serviceAvailable("PostgreSQL", PG_URL);
const redisAvailable = await serviceAvailable("Redis", REDIS_URL);

const payloads = [
  { name: "Zürich — 東京 😀", rtl: "שלום", separator: "\u2028", control: "a\nb\t\u0001\u001f", quote: 'say "hi" \\o/' },
  { matrix: [[1, [2, [3, []]]], [{}], []], deep: { a: { b: { c: [null, true, false] } } } },
  {
    big: Number("12345678901234567890"),
    tiny: 1e-7,
    huge: 1e21,
    negativeZero: -0,
    sum: 0.1 + 0.2,
    unsafe: 2 ** 53 + 1,
  },
  { z: 1, a: 2, "10": "ten", "2": "two", m: { y: 1, b: 2, "1": [] }, "": "empty key" },
];

/** The same events for every store: ids and timestamps given, so the bytes can be compared across stores. */
function fixtureEvents(): Event[] {
  return payloads.map((payload, index) =>
    Object.freeze(
      eventSchema.parse({
        event_id: crypto.randomUUID(),
        event_type: index % 2 === 0 ? "negotiation.round" : "deal.created",
        timestamp: `2026-11-24T10:15:3${index}.123Z`,
        flow_id: 'flow "quoted" \\ é',
        flow_type: "deal_generation",
        session_id: `session-${index % 2}`,
        payload,
        metadata: { source: "wire-test", order: { later: 1, earlier: 2 } },
      }),
    ),
  );
}

const events = fixtureEvents();
const ids = events.map((event) => event.event_id);
const QUERIES = [
  "",
  "?limit=2",
  "?event_type=deal.created&event_type=negotiation.round",
  `?flow_id=${encodeURIComponent(events[0]?.flow_id ?? "")}&session_id=session-1`,
  `?after=${ids[0]}&limit=2`,
  `?before=${ids[3]}`,
  "?since=2026-11-24T10:15:31.000Z&flow_type=deal_generation",
];

/** GET bodies of every query and every event, through the HTTP handler. */
async function bodies(bus: EventBus): Promise<string[]> {
  const handler = createEventsFetchHandler(bus);
  const paths = [...QUERIES.map((query) => `/events${query}`), ...ids.map((id) => `/events/${id}`)];
  return Promise.all(
    paths.map(async (path) => {
      const response = await handler(new Request(`http://localhost${path}`));
      expect(response.status, path).toBe(200);
      const text = await response.text();
      expect(Number(response.headers.get("content-length")), path).toBe(Buffer.byteLength(text));
      return text;
    }),
  );
}

/** The same bodies built the slow way: frozen events from the bus, serialised with JSON.stringify. */
async function slowBodies(bus: EventBus): Promise<string[]> {
  const lists = await Promise.all(
    QUERIES.map(async (query) => {
      const params = new URLSearchParams(query);
      const filter: Record<string, unknown> = {};
      for (const key of new Set(params.keys())) {
        const values = params.getAll(key);
        filter[key] = key === "limit" ? Number(values[0]) : key === "event_type" ? values : values[0];
      }
      const page = await bus.listEventsPage(filter);
      return `{"events":[${page.events.map((event) => JSON.stringify(event)).join(",")}],"has_more":${page.has_more}}`;
    }),
  );
  const items = await Promise.all(ids.map(async (id) => JSON.stringify(await bus.getEvent(id))));
  return [...lists, ...items];
}

const reference = await (async () => {
  const bus = new EventBus({ storage: memoryStorage() });
  for (const event of events) await bus.storage.append([event]);
  return { fast: await bodies(bus), slow: await slowBodies(bus) };
})();

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("stored JSON to the wire", () => {
  it("memory serves exactly what JSON.stringify of each event gives", () => {
    expect(reference.fast).toEqual(reference.slow);
  });

  async function checkStore(storage: EventStorage): Promise<void> {
    expect(typeof storage.listJson).toBe("function");
    expect(typeof storage.getJson).toBe("function");
    await storage.append(events);
    const bus = new EventBus({ storage });
    const fast = await bodies(bus);
    expect(fast).toEqual(await slowBodies(bus));
    expect(fast).toEqual(reference.fast);
  }

  it("sqlite serves the stored columns byte-identical to the slow path and to memory", async () => {
    const database = openSqlite(":memory:");
    cleanups.push(async () => void database.close());
    const storage = sqliteStorage({ database });
    await checkStore(storage);
    // A row written by another tool (naive timestamp, spaced JSON, no `body`) takes the slow path, the same on both.
    database
      .prepare(
        `UPDATE events SET "timestamp" = '2026-11-24T10:15:30.123', payload = '{"b": 1, "a": [1, 2]}', body = NULL WHERE event_id = ?`,
      )
      .run(ids[2]);
    const bus = new EventBus({ storage });
    const fast = await bodies(bus);
    expect(fast).toEqual(await slowBodies(bus));
    expect(fast.at(QUERIES.length + 2)).toContain('"timestamp":"2026-11-24T10:15:30.123Z"');
  });

  it.runIf(redisAvailable)("redis serves its records byte-identical to the slow path and to memory", async () => {
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    const prefix = uniquePrefix("wire");
    cleanups.push(async () => {
      await deleteStore(client, prefix);
      client.disconnect();
    });
    const storage = redisStorage({ client, prefix });
    await checkStore(storage);
    // A record in another writer's format (spaces, other key order, naive timestamp) takes the slow path.
    const foreign = events[0] as Event;
    const pythonStyle = `{"event_type": "${foreign.event_type}", "event_id": "${foreign.event_id}", "timestamp": "2026-11-24T10:15:30.123", "payload": {"b": 1, "a": [1, 2]}}`;
    await client.set(redisKeyLayout(prefix).event(foreign.event_id), pythonStyle);
    const bus = new EventBus({ storage });
    const fast = await bodies(bus);
    expect(fast).toEqual(await slowBodies(bus));
    expect(fast.at(QUERIES.length)).toContain('"timestamp":"2026-11-24T10:15:30.123Z"');
  });

  it.runIf(pgAvailable)("postgres serves each row's body byte-identical to the slow path and to memory", async () => {
    const pool = createPool(PG_URL);
    const table = uniqueName("wire");
    cleanups.push(async () => {
      await pool.end();
      await dropTestObjects(PG_URL, { tables: [table] });
    });
    const storage = postgresStorage({ pool, table });
    await checkStore(storage);
    // A row from before `body` existed (or from another tool): rebuilt from the columns, the same on both paths.
    await pool.query(`UPDATE ${storage.table} SET body = NULL WHERE event_id = $1::uuid`, [ids[1]]);
    const bus = new EventBus({ storage });
    const fast = await bodies(bus);
    expect(fast).toEqual(await slowBodies(bus));
    expect(fast.at(QUERIES.length + 1)).toContain('"event_id":');
  });
});
