// The leading process's two forms of its own append (the one that numbers the backlog in its statement, and the
// cheaper guarded one that only looks for it), and the announcement of its appends to the other processes, which
// now goes out after the commit instead of inside the statement; on a real PostgreSQL.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { wireJson } from "../../src/storage/kit/stored-event.js";
import { postgresSchemaSql, postgresStorage } from "../../src/storage/postgres/index.js";
import { eventText } from "../../src/storage/postgres/postgres-columns.js";
import { Sequencer } from "../../src/storage/postgres/postgres-sequencer.js";
import { createPool, dropTestObjects, makeEvent, nonEmpty, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
/** The positions channel of the test's own sequencer (unique per run: another run's NOTIFYs must not count). */
const CHANNEL = `guarded_test_${process.pid}`;

describe("eventText", () => {
  it("builds exactly the wire JSON, with the payload and metadata as their own JSON", () => {
    const event = makeEvent({
      flow_id: 'quote " and \\ backslash',
      session_id: 'line\nbreak \u2028 and ,"payload":',
      payload: { nested: { list: [1, 2.5, "x"] }, 'key with "quote"': null },
      metadata: { source: "test" },
    });
    const text = eventText(event);
    expect(text.body).toBe(wireJson(event));
    expect(text.payload).toBe(JSON.stringify(event.payload));
    expect(text.metadata).toBe(JSON.stringify(event.metadata));
  });
});

describe.skipIf(!available)("postgres leader appends: guarded and numbering forms", () => {
  const tables: string[] = [];
  const pool = createPool(PG_URL, { max: 4 });

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    await pool.end();
  });

  async function leadingSequencer(table: string) {
    const session = new pg.Client({ connectionString: PG_URL });
    await session.connect();
    const snapshots: string[] = [];
    const announced: string[] = [];
    const sequencer = new Sequencer({
      table,
      positionsChannel: CHANNEL,
      timeoutMs: 5000,
      dropSession: () => {},
      onNumbered: (snapshot) => snapshots.push(snapshot),
      announce: (snapshot) => announced.push(snapshot),
      stopBackend: async () => {},
      pollMs: 60_000, // no poll step between the tool's commit and the append
    });
    sequencer.useSession(session as unknown as pg.PoolClient);
    while (!sequencer.leading) await new Promise((resolve) => setTimeout(resolve, 5));
    return { sequencer, session, snapshots, announced };
  }

  async function toolRows(table: string, count: number, type: string) {
    await pool.query(
      `INSERT INTO ${table} (event_id, event_type, deal_id, "timestamp") ` +
        `SELECT gen_random_uuid(), 'deal.synced', $1, '2026-12-02T10:00:00.000Z' FROM generate_series(1, ${count})`,
      [type],
    );
  }

  it("stores unnumbered when a backlog turned up, then numbers the next backlog in its own statement", async () => {
    const name = uniqueName("guard");
    tables.push(name);
    const table = `"public"."${name}"`;
    await pool.query(postgresSchemaSql({ table: name }));
    const { sequencer, session, snapshots, announced } = await leadingSequencer(table);
    const append = (marker: string) =>
      sequencer.stamp([eventText(makeEvent({ event_type: "deal.created", deal_id: marker }))]);

    // No backlog expected yet: the first append numbers in its statement (the full form) and finds none.
    expect((await append("deal.first"))?.positioned).toBe(true);
    expect(announced).toHaveLength(1);
    // The guarded form runs next; it finds another tool's committed rows and leaves its own row to the next step.
    await toolRows(table, 3, "deal.tool_a");
    const guarded = await append("deal.guarded");
    expect(guarded?.positioned).toBe(false);
    expect(announced).toHaveLength(1); // nothing was numbered, so nothing is announced
    // The step it asked for numbers the backlog, then its row.
    await nonEmpty(
      async () =>
        (await pool.query(`SELECT 1 FROM ${table} WHERE deal_id = 'deal.guarded' AND position IS NOT NULL`)).rows,
    );
    // Having seen a backlog, the leader numbers the next one in its append's own statement, which then announces
    // itself (the backlog's writers wait for that snapshot) instead of leaving it to the later announcement.
    const listener = new pg.Client({ connectionString: PG_URL });
    await listener.connect();
    const payloads: string[] = [];
    listener.on("notification", (message) => payloads.push(message.payload ?? ""));
    await listener.query(`LISTEN ${CHANNEL}`);
    await toolRows(table, 2, "deal.tool_b");
    const announcedBefore = announced.length;
    expect((await append("deal.last"))?.positioned).toBe(true);
    const snapshot = snapshots.at(-1);
    for (let waited = 0; !payloads.includes(snapshot as string) && waited < 3000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(payloads).toContain(snapshot);
    expect(announced).toHaveLength(announcedBefore);
    await listener.end();

    const order = await pool.query<{ deal_id: string; position: string | null }>(
      `SELECT deal_id, position FROM ${table} ORDER BY position NULLS LAST, seq`,
    );
    expect(order.rows.every((row) => row.position !== null)).toBe(true);
    expect(order.rows.map((row) => row.deal_id)).toEqual([
      "deal.first",
      "deal.tool_a",
      "deal.tool_a",
      "deal.tool_a",
      "deal.guarded",
      "deal.tool_b",
      "deal.tool_b",
      "deal.last",
    ]);
    await sequencer.close();
    await session.end();
  });

  it("answers the guarded form's rows in insertion order, skips ids already taken, and keeps counting after them", async () => {
    const name = uniqueName("guard_rows");
    tables.push(name);
    const table = `"public"."${name}"`;
    await pool.query(postgresSchemaSql({ table: name }));
    const { sequencer, session, announced } = await leadingSequencer(table);
    const taken = makeEvent({ deal_id: "deal.taken" });
    expect((await sequencer.stamp([eventText(taken)]))?.positioned).toBe(true); // the full form; no backlog seen

    // The guarded form: three new events around an id stored before, which is skipped as the full form skips it.
    const fresh = ["deal.one", "deal.two", "deal.three"].map((deal_id) => makeEvent({ deal_id }));
    const rows = [fresh[0], taken, fresh[1], fresh[2]].map((event) => eventText(event as typeof taken));
    const stored = await sequencer.stamp(rows);
    expect(stored?.positioned).toBe(true);
    expect(stored?.ids).toEqual(fresh.map((event) => event.event_id));
    // Only taken ids: nothing stored, nothing announced, and the next append's positions still follow the highest.
    const announcedBefore = announced.length;
    expect(await sequencer.stamp([eventText(taken)])).toEqual({ ids: [], xid: undefined, positioned: true });
    expect(announced).toHaveLength(announcedBefore);
    expect((await sequencer.stamp([eventText(makeEvent({ deal_id: "deal.after" }))]))?.positioned).toBe(true);

    const order = await pool.query<{ deal_id: string; position: string }>(
      `SELECT deal_id, position::text FROM ${table} ORDER BY position`,
    );
    expect(order.rows.map((row) => row.deal_id)).toEqual([
      "deal.taken",
      "deal.one",
      "deal.two",
      "deal.three",
      "deal.after",
    ]);
    const positions = order.rows.map((row) => Number(row.position));
    expect(new Set(positions).size).toBe(positions.length);
    // It was the guarded form that stored them: its group and one-event statements were prepared on the session.
    const prepared = await session.query<{ name: string }>("SELECT name FROM pg_prepared_statements");
    const names = prepared.rows.map((row) => row.name);
    expect(names.some((name) => name.includes("_guarded_many_"))).toBe(true);
    expect(names.some((name) => name.includes("_guarded_one_"))).toBe(true);
    await sequencer.close();
    await session.end();
  });

  it("wakes the watchers of another process's storage when the leader appends (announced after its commit)", async () => {
    const table = uniqueName("announce");
    tables.push(table);
    const leader = postgresStorage({ pool, table });
    await leader.append([makeEvent()]); // the table's only candidate so far: it leads
    const follower = postgresStorage({ pool, table });
    let heard = 0;
    let wake: () => void = () => {};
    const stop = follower.watch?.(() => {
      heard += 1;
      wake();
    });
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    if (heard === 0) await next(); // the first call comes once its LISTEN is in place
    const before = heard;
    const woken = next();
    await leader.append([makeEvent({ event_type: "deal.created", deal_id: "announced" })]);
    // The leader's poll announces nothing when it numbers nothing: only the announcement can wake the follower.
    const outcome = await Promise.race([
      woken.then(() => "woken"),
      new Promise((resolve) => setTimeout(() => resolve("silent"), 3000)),
    ]);
    expect(outcome).toBe("woken");
    expect(heard).toBeGreaterThan(before);
    await stop?.();
    await follower.close();
    await leader.close();
  });
});
