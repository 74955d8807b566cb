// The leading process's own appends: stored with their positions in one statement that numbers the backlog (rows
// committed by others and not numbered yet) first, on a real PostgreSQL.
import { afterAll, describe, expect, it } from "vitest";
import { EventBus, StorageError } from "../../src/index.js";
import { PostgresTimeoutError, postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

describe.skipIf(!available)("postgresStorage appends of the leading process", () => {
  const tables: string[] = [];
  const pool = createPool(PG_URL, { max: 4 });

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    await pool.end();
  });

  it("numbers rows committed before it first, then its own, each position given once", async () => {
    const table = uniqueName("stamp");
    tables.push(table);
    const storage = postgresStorage({ pool, table });
    const bus = new EventBus({ storage });
    // Resolves once numbered, which only this storage (the table's sole candidate) can have done: it leads now.
    const first = await bus.emitEvent({ event_type: "session.created", session_id: "s-1" });

    // Another tool's rows, committed right before the emit: the leader's 100 ms poll has not numbered them yet.
    const tool = await pool.connect();
    await tool.query("BEGIN");
    await tool.query(
      `INSERT INTO ${storage.table} (event_id, event_type, "timestamp") ` +
        "SELECT gen_random_uuid(), 'deal.synced', '2026-12-02T10:00:00.000Z' FROM generate_series(1, 50)",
    );
    await tool.query("COMMIT");
    tool.release();
    const emitted = await bus.emitEvents([
      { event_type: "deal.created", deal_id: "d-1" },
      { event_type: "deal.created", deal_id: "d-2" },
    ]);

    const stored = await pool.query<{ event_id: string; position: string | null; event_type: string }>(
      `SELECT event_id::text, position, event_type FROM ${storage.table} ORDER BY position`,
    );
    expect(stored.rows.every((row) => row.position !== null)).toBe(true);
    expect(new Set(stored.rows.map((row) => row.position)).size).toBe(53);
    // Read order: the first emit, the tool's 50 rows (committed earlier), then this append's two in call order.
    expect(stored.rows.map((row) => row.event_type)).toEqual([
      "session.created",
      ...Array(50).fill("deal.synced"),
      "deal.created",
      "deal.created",
    ]);
    expect(stored.rows.slice(-2).map((row) => row.event_id)).toEqual(emitted.map((event) => event.event_id));
    // And readable through the bus at once (read-your-writes), after everything listed before it.
    const listed = await bus.listEvents({ after: first.event_id, limit: 100 });
    expect(listed.map((event) => event.event_id).slice(-2)).toEqual(emitted.map((event) => event.event_id));
    await storage.close();
  });

  it("sends an append that would wait on a lock the plain way, where its deadline ends it and stores nothing", async () => {
    const table = uniqueName("stamp");
    tables.push(table);
    const storage = postgresStorage({ pool, table, timeoutMs: 1000 });
    const bus = new EventBus({ storage });
    await bus.emitEvent({ event_type: "session.created", session_id: "s-1" }); // numbered: this storage leads
    const locker = await pool.connect();
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE ${storage.table} IN SHARE MODE`); // every INSERT and UPDATE waits
    let outcome: PromiseSettledResult<unknown>;
    try {
      [outcome] = await Promise.allSettled([bus.emitEvent({ event_type: "deal.created", deal_id: "too-late" })]);
    } finally {
      await locker.query("COMMIT");
      locker.release();
    }
    // Not the leader's lock timeout surfacing: the append gave up on the leader's session after 100 ms, waited on
    // the pool as a plain INSERT, and was stopped at its deadline.
    expect(outcome.status).toBe("rejected");
    const reason = (outcome as PromiseRejectedResult).reason as StorageError;
    expect(reason).toBeInstanceOf(StorageError);
    expect(reason.cause).toBeInstanceOf(PostgresTimeoutError);
    const after = await bus.emitEvent({ event_type: "deal.created", deal_id: "after" });
    expect(await bus.listEvents({ after: after.event_id })).toEqual([]);
    expect(await bus.listEvents({ deal_id: "too-late" })).toEqual([]);
    const stored = await pool.query(`SELECT count(*)::int AS n FROM ${storage.table} WHERE deal_id = 'too-late'`);
    expect(stored.rows[0]?.n).toBe(0);
    await storage.close();
  }, 20_000);
});
