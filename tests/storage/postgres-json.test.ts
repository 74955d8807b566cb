// The PostgreSQL JSON path (listJson/getJson, what GET /events serves): one aggregated text per page, stored bodies
// passed on as stored, and rows without a body (written by 0.1, or by a tool that fills only the columns) rebuilt
// from their columns with exactly the bytes `list` then `JSON.stringify` give, wherever they fall on a page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus, type EventQuery } from "../../src/index.js";
import { normalizeEventQuery } from "../../src/storage/index.js";
import { type PostgresEventStorage, postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, makeEvent, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

describe.skipIf(!available)("postgresStorage JSON path", () => {
  const pool = createPool(PG_URL);
  const table = uniqueName("json");
  let storage: PostgresEventStorage;
  const ids: string[] = [];

  /** The JSON path, and the Event path serialised: they must agree byte for byte. */
  async function bothPaths(query: EventQuery) {
    const normalized = normalizeEventQuery(query);
    const texts = await storage.listJson?.(normalized);
    const events = await storage.list(normalized);
    return { texts, expected: events.map((event) => JSON.stringify(event)) };
  }

  beforeAll(async () => {
    storage = postgresStorage({ pool, table });
    // Nested keys out of jsonb's order, so that a row rebuilt from its columns differs from the body it lost.
    const events = Array.from({ length: 12 }, (_, index) =>
      makeEvent({
        event_type: index % 3 === 0 ? "deal.created" : "negotiation.round",
        session_id: `s-${index % 2}`,
        payload: { zeta: index, alpha: "x", nested: { b: 1, a: 2 } },
      }),
    );
    await storage.append(events);
    ids.push(...events.map((event) => event.event_id));
    // Rows as 0.1 left them: the first and last of the table, two in the middle, one next to another.
    const legacy = [ids[0], ids[4], ids[5], ids[8], ids[11]];
    await pool.query(`UPDATE ${storage.table} SET body = NULL WHERE event_id = ANY($1::uuid[])`, [legacy]);
  });

  afterAll(async () => {
    await storage.close();
    await pool.end();
    await dropTestObjects(PG_URL, { tables: [table] });
  });

  it("rebuilds rows without a body where they fall on every page shape, identical to list", async () => {
    const queries: EventQuery[] = [
      {},
      { limit: 3 },
      { limit: 7 },
      { after: ids[2] as string, limit: 5 },
      { before: ids[9] as string, limit: 4 },
      { session_id: "s-0" },
      { event_type: ["deal.created", "negotiation.round"], limit: 9 },
      { event_type: ["deal.created", "negotiation.round"], after: ids[3] as string },
    ];
    for (const query of queries) {
      const { texts, expected } = await bothPaths(query);
      expect(texts, JSON.stringify(query)).toEqual(expected);
    }
    const all = await bothPaths({});
    expect(all.texts).toHaveLength(12);
    // The rebuilt rows carry jsonb's key order; the others the body as written.
    expect(all.texts?.[0]).toContain('"payload":{"zeta":0,"alpha":"x","nested":{"a":2,"b":1}}');
    expect(all.texts?.[1]).toContain('"payload":{"zeta":1,"alpha":"x","nested":{"b":1,"a":2}}');
  });

  it("serves a page of rows without a body only, and getJson of one", async () => {
    const page = await bothPaths({ after: ids[3] as string, limit: 2 });
    expect(page.texts).toEqual(page.expected);
    expect(page.texts).toHaveLength(2);
    const legacy = ids[4] as string;
    expect(await storage.getJson?.(legacy)).toBe(JSON.stringify(await storage.get(legacy)));
    expect(await storage.getJson?.(ids[1] as string)).toBe(JSON.stringify(await storage.get(ids[1] as string)));
  });

  it("passes a stored body on as stored, line breaks included, with the texts around it whole", async () => {
    const spaced = makeEvent({ event_type: "deal.created", session_id: "spaced", payload: { note: "a\nb" } });
    const next = makeEvent({ event_type: "deal.created", session_id: "spaced" });
    await storage.append([spaced, next]);
    // Another tool rewrote the body spaced out over lines: still one JSON text, and it must come back as one.
    const body = JSON.stringify(JSON.parse(JSON.stringify(spaced)), null, 2);
    await pool.query(`UPDATE ${storage.table} SET body = $2 WHERE event_id = $1::uuid`, [spaced.event_id, body]);
    const texts = await storage.listJson?.(normalizeEventQuery({ session_id: "spaced" }));
    expect(texts).toEqual([body, JSON.stringify(next)]);
    const bus = new EventBus({ storage });
    expect((await bus.listEventsJsonPage({ session_id: "spaced" })).json).toEqual(texts);
  });

  it("refuses a page holding an empty body as list does, naming the event", async () => {
    const empty = makeEvent({ event_type: "deal.created", session_id: "empty" });
    await storage.append([empty, makeEvent({ event_type: "deal.created", session_id: "empty" })]);
    await pool.query(`UPDATE ${storage.table} SET body = '' WHERE event_id = $1::uuid`, [empty.event_id]);
    const query = normalizeEventQuery({ session_id: "empty" });
    const fromJson = await storage.listJson?.(query).catch((error: unknown) => error);
    expect(fromJson).toBeInstanceOf(Error);
    expect(String((fromJson as Error).cause ?? fromJson)).toContain(empty.event_id);
    expect(await storage.list(query).catch((error: unknown) => String((error as Error).cause))).toContain(
      empty.event_id,
    );
    await pool.query(`DELETE FROM ${storage.table} WHERE session_id = 'empty'`);
  });

  it("answers an unknown cursor as list does, and an empty page past the newest event", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    const query = normalizeEventQuery({ after: unknown });
    const fromJson = await storage.listJson?.(query).catch((error: unknown) => error);
    const fromList = await storage.list(query).catch((error: unknown) => error);
    expect(fromJson).toBeInstanceOf(Error);
    expect(fromJson).toEqual(fromList);
    const newest = (await storage.list(normalizeEventQuery({ limit: 1 })))[0];
    expect(await storage.listJson?.(normalizeEventQuery({ after: newest?.event_id as string }))).toEqual([]);
  });

  it("close waits for a read still in flight (the gate counts its calls)", async () => {
    const reader = postgresStorage({ pool, table });
    await reader.ensureSchema();
    const locker = await pool.connect();
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE ${storage.table} IN ACCESS EXCLUSIVE MODE`);
    const order: string[] = [];
    const read = reader.listJson?.(normalizeEventQuery({})).then(() => order.push("read"));
    // The read waits on the lock, in the server.
    const blocked =
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%string_agg%'";
    while ((await pool.query(blocked)).rows[0].n === 0);
    const closing = reader.close().then(() => order.push("closed"));
    await pool.query("SELECT 1");
    expect(order).toEqual([]);
    await locker.query("COMMIT");
    locker.release();
    await Promise.all([read, closing]);
    expect(order).toEqual(["read", "closed"]);
  });
});
