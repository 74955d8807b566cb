// Events written in the caller's transaction (`emitEvent(input, { transaction })`), and appends that resolve before
// their position (`awaitPosition: false`), on a real PostgreSQL.
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError, memoryStorage } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, makeEvent, nonEmpty, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

describe.skipIf(!available)("postgresStorage and the caller's transaction", () => {
  const tables: string[] = [];
  const pool = createPool(PG_URL, { max: 6 });
  const readerPool = createPool(PG_URL, { max: 2 });

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    await Promise.all([pool.end(), readerPool.end()]);
  });

  function freshTable(): string {
    const table = uniqueName("tx");
    tables.push(table);
    return table;
  }

  it("shows nothing of a rolled-back transaction, and a commit 2 s later in commit order, to every reader", async () => {
    const table = freshTable();
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    // Another process's view: its own pool and storage, tailing with `after`.
    const reader = new EventBus({ storage: postgresStorage({ pool: readerPool, table }) });
    const heard: string[] = [];
    bus.subscribe("*", (event) => {
      heard.push(event.event_id);
    });
    const start = await bus.emitEvent({ event_type: "session.created", flow_id: "start" });

    const rolledBack = await pool.connect();
    await rolledBack.query("BEGIN");
    const lost = await bus.emitEvent({ event_type: "deal.created", deal_id: "lost" }, { transaction: rolledBack });
    await rolledBack.query("ROLLBACK");
    rolledBack.release();

    const late = await pool.connect();
    await late.query("BEGIN");
    await late.query("SELECT pg_current_xact_id()"); // the business change comes first in the seller flow
    const kept = await bus.emitEvent({ event_type: "deal.created", deal_id: "kept" }, { transaction: late });
    const meanwhile = await bus.emitEvent({ event_type: "deal.synced", deal_id: "other" });
    expect(await reader.listEvents({ after: start.event_id })).toEqual([meanwhile]);
    expect(await reader.getEvent(kept.event_id)).toBeNull();
    expect(heard).toEqual([start.event_id, meanwhile.event_id]);

    await new Promise((resolve) => setTimeout(resolve, 2000)); // the transaction stays open 2 s, as in the issue
    expect(heard).toEqual([start.event_id, meanwhile.event_id]);
    await late.query("COMMIT");
    late.release();

    const after = await nonEmpty(() => reader.listEvents({ after: meanwhile.event_id }));
    expect(after).toEqual([kept]);
    await nonEmpty(async () => heard.slice(2));
    expect(heard).toEqual([start.event_id, meanwhile.event_id, kept.event_id]);
    const all = await reader.listEvents({ after: start.event_id });
    expect(all.map((event) => event.event_id)).toEqual([meanwhile.event_id, kept.event_id]);
    expect(await reader.getEvent(lost.event_id)).toBeNull();
    expect(await reader.listEvents({ deal_id: "lost" })).toEqual([]);
    await Promise.all([bus.close(), reader.close()]);
    expect(heard).not.toContain(lost.event_id);
  }, 20_000);

  it("stores a batch with the business row in one transaction, and neither of them when it rolls back", async () => {
    const table = freshTable();
    const deals = `${table}_deals`;
    tables.push(deals);
    await pool.query(`CREATE TABLE "${deals}" (id text PRIMARY KEY)`);
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    for (const outcome of ["COMMIT", "ROLLBACK"] as const) {
      const client = await pool.connect();
      await client.query("BEGIN");
      await client.query(`INSERT INTO "${deals}" (id) VALUES ($1)`, [outcome]);
      const events = await bus.emitEvents(
        [
          { event_type: "deal.created", deal_id: outcome },
          { event_type: "deal.synced", deal_id: outcome },
        ],
        { transaction: client },
      );
      await client.query(outcome);
      client.release();
      if (outcome === "COMMIT") expect(await nonEmpty(() => bus.listEvents({ deal_id: outcome }))).toEqual(events);
    }
    const marker = await bus.emitEvent({ event_type: "session.closed" }); // numbered after anything committed before
    expect((await bus.listEvents({ after: marker.event_id })).length).toBe(0);
    expect(await bus.listEvents({ deal_id: "ROLLBACK" })).toEqual([]);
    expect((await pool.query(`SELECT id FROM "${deals}"`)).rows).toEqual([{ id: "COMMIT" }]);
    await bus.close();
  });

  it("refuses a transaction handle that is not a pg client, and refuses the option on a memory store", async () => {
    const table = freshTable();
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    const input = { event_type: "deal.created" } as const;
    await expect(bus.emitEvent(input, { transaction: pool })).rejects.toThrow(/transaction: is a pg Pool/);
    await expect(bus.emitEvent(input, { transaction: 42 })).rejects.toThrow(/transaction: must be a pg client/);
    await expect(bus.emitEvent(input, { transaction: null })).rejects.toBeInstanceOf(EventValidationError);
    await expect(bus.emitEvent(input, { transation: 1 } as never)).rejects.toThrow(/did you mean "transaction"/);
    const memory = new EventBus({ storage: memoryStorage() });
    const refused = memory.emitEvents([input], { transaction: {} });
    await expect(refused).rejects.toBeInstanceOf(EventValidationError);
    await expect(refused).rejects.toThrow(/transaction: the memory store cannot write inside your transaction/);
    await Promise.all([bus.close(), memory.close()]);
  });

  it("with awaitPosition: false, resolves an append at commit, before its position, and numbers it later", async () => {
    const table = freshTable();
    const storage = postgresStorage({ pool, table, awaitPosition: false });
    await storage.ensureSchema();
    // The test's session holds the sequencer's lock: no process can number anything until it lets go.
    const blocker = await pool.connect();
    const key = `ad-seller-events:sequencer:${storage.table}`;
    await blocker.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [key]);
    const event: Event = makeEvent({ flow_id: "unnumbered" });
    try {
      expect(await storage.append([event])).toEqual([null]);
      const row = await pool.query(`SELECT position FROM ${storage.table} WHERE event_id = $1`, [event.event_id]);
      expect(row.rows).toEqual([{ position: null }]);
      expect(await storage.list({ flow_id: "unnumbered", limit: 10 })).toEqual([]);
    } finally {
      await blocker.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key]);
      blocker.release();
    }
    // This process takes the lead now and numbers the row.
    expect(await nonEmpty(() => storage.list({ flow_id: "unnumbered", limit: 10 }))).toEqual([event]);
    await storage.close();
  });
});
