// Append order under interleaved transactions, made deterministic: an AFTER INSERT trigger on the test table parks a
// transaction right after inserting a marked row, until the test releases that row's gate (an advisory lock the test
// holds). So the test decides which transaction inserts when and which commits first, on two real pools, through
// the adapter's own append; and it checks only what a reader can observe, so it holds whether the adapter orders by
// (transaction id, sequence) below a snapshot horizon or makes append order equal commit order.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventBus } from "../../src/index.js";
import { type PostgresEventStorage, postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, makeEvent, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

const ids = (events: readonly Event[]) => events.map((event) => event.event_id);

describe.skipIf(!available)("postgresStorage order under interleaved transactions", () => {
  const tables: string[] = [];
  const functions: string[] = [];
  const pools: pg.Pool[] = [];
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await dropTestObjects(PG_URL, { tables });
    for (const name of functions) await admin.query(`DROP FUNCTION IF EXISTS public."${name}"()`);
    await admin.end();
  });

  /** A table with the gate trigger, a writer storage per transaction (own pool), and a reading bus. */
  async function setup(writers: number, writerOptions: { maxBatchRows?: number } = {}) {
    const table = uniqueName("order");
    tables.push(table);
    const gateFunction = `${table}_gate`;
    functions.push(gateFunction);
    const open = (applicationName: string, options = {}) => {
      const pool = createPool(PG_URL, { application_name: applicationName });
      pools.push(pool);
      return postgresStorage({ pool, table, ...options });
    };
    const reader = open(`${table}_reader`);
    await reader.ensureSchema();
    await admin.query(
      `CREATE FUNCTION public."${gateFunction}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
        `PERFORM pg_advisory_xact_lock_shared(hashtextextended(NEW.payload->>'gate', 0)); RETURN NULL; END $$`,
    );
    await admin.query(
      `CREATE TRIGGER "${table}_gate" AFTER INSERT ON ${reader.table} FOR EACH ROW ` +
        `WHEN (NEW.payload ? 'gate') EXECUTE FUNCTION public."${gateFunction}"()`,
    );
    const writerNames = Array.from({ length: writers }, (_, index) => `${table}_w${index}`);
    return {
      bus: new EventBus({ storage: reader }),
      writers: writerNames.map((name) => ({ name, storage: open(name, writerOptions) })),
      gate: (label: string) => `${table}:${label}`,
    };
  }

  async function closeGate(gate: string): Promise<void> {
    await admin.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [gate]);
  }

  async function openGate(gate: string): Promise<void> {
    await admin.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [gate]);
  }

  /** Resolves once `append` has finished, or once its writer waits on a lock (parked by a gate or by the adapter). */
  async function settledOrWaiting(append: Promise<unknown>, applicationName: string): Promise<"done" | "waiting"> {
    let done = false;
    append.then(
      () => (done = true),
      () => (done = true),
    );
    for (;;) {
      if (done) return "done";
      const waiting = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [applicationName],
      );
      if (waiting.rows[0].n > 0) return "waiting";
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Follows the store with `after` pages of `pageSize`, from `cursor`, until a page comes back empty. */
  async function tail(bus: EventBus, cursor: string, pageSize: number): Promise<Event[]> {
    const seen: Event[] = [];
    for (let position = cursor; ; ) {
      const page = await bus.listEvents({ after: position, limit: pageSize });
      const last = page.at(-1);
      if (last === undefined) return seen;
      seen.push(...page);
      position = last.event_id;
    }
  }

  /** Pages back with `before` from `cursor` to the start, returning everything oldest first. */
  async function pageBack(bus: EventBus, cursor: string, pageSize: number): Promise<Event[]> {
    const pages: Event[][] = [];
    for (let position = cursor; ; ) {
      const page = await bus.listEvents({ before: position, limit: pageSize });
      const first = page[0];
      if (first === undefined) return pages.reverse().flat();
      pages.push(page);
      position = first.event_id;
    }
  }

  /**
   * What every reader must observe once everything has committed: one order that the plain listing, the tailer and
   * paging back all agree on; every event exactly once; each earlier observation a prefix of that order (nothing
   * later appears before a position already returned); each append call contiguous and in its own order.
   */
  async function expectOneStableOrder(options: {
    bus: EventBus;
    writer: PostgresEventStorage;
    seed: readonly Event[];
    calls: readonly (readonly Event[])[];
    earlier: readonly (readonly Event[])[];
    tailed: readonly Event[];
  }): Promise<void> {
    const { bus, seed, calls } = options;
    const sentinel = makeEvent({ flow_id: "sentinel" });
    await options.writer.append([sentinel]);
    const final = await bus.listEvents({ limit: 1000 });
    const expected = new Set(ids([...seed, ...calls.flat(), sentinel]));
    expect(final).toHaveLength(expected.size);
    expect(new Set(ids(final))).toEqual(expected);
    const order = ids(final);
    const tailed = [
      ...options.tailed,
      ...(await tail(bus, options.tailed.at(-1)?.event_id ?? (order[0] as string), 1)),
    ];
    expect(ids(tailed), "the tailer saw every event once, in the listing's order").toEqual(order.slice(1));
    expect(ids(await pageBack(bus, sentinel.event_id, 2))).toEqual(order.slice(0, -1));
    expect(ids(await tail(bus, order[0] as string, 3))).toEqual(order.slice(1));
    for (const observed of options.earlier) {
      expect(order.slice(0, observed.length), "an earlier listing is a prefix of the final order").toEqual(
        ids(observed),
      );
    }
    for (const call of calls) {
      const start = order.indexOf((call[0] as Event).event_id);
      expect(order.slice(start, start + call.length), "one append call stays contiguous").toEqual(ids(call));
    }
  }

  it("never skips the transaction that inserted between another's rows and committed after it", async () => {
    const { bus, writers, gate } = await setup(2, { maxBatchRows: 1 });
    const [first, second] = writers as [(typeof writers)[0], (typeof writers)[0]];
    const seed = [makeEvent(), makeEvent()];
    await first.storage.append(seed);
    const [gateB, gateA] = [gate("b"), gate("a")];
    await closeGate(gateB);
    await closeGate(gateA);
    // B starts first: its first row is inserted, then it is parked before its second statement.
    const callB = [makeEvent({ payload: { gate: gateB } }), makeEvent()];
    const appendB = first.storage.append(callB);
    expect(await settledOrWaiting(appendB, first.name)).toBe("waiting");
    // A inserts its row between B's two rows and is parked before it commits.
    const callA = [makeEvent({ payload: { gate: gateA } })];
    const appendA = second.storage.append(callA);
    await settledOrWaiting(appendA, second.name);
    // B inserts its second row and commits; A is still open.
    await openGate(gateB);
    await appendB;
    const seen = await tail(bus, (seed[0] as Event).event_id, 1);
    const [listed, before] = await Promise.all([
      bus.listEvents({ limit: 1000 }),
      bus.listEvents({ before: (callB[1] as Event).event_id, limit: 1000 }),
    ]);
    expect(ids(seen)).toEqual(expect.arrayContaining(ids(callB)));
    await openGate(gateA);
    await appendA;
    await expectOneStableOrder({
      bus,
      writer: first.storage,
      seed,
      calls: [seed, callB, callA],
      earlier: [listed, before, [seed[0] as Event, ...seen]],
      tailed: seen,
    });
  });

  it("never skips an older transaction that commits after a younger one was read", async () => {
    const { bus, writers, gate } = await setup(2);
    const [first, second] = writers as [(typeof writers)[0], (typeof writers)[0]];
    const seed = [makeEvent(), makeEvent()];
    await first.storage.append(seed);
    const gateB = gate("b");
    await closeGate(gateB);
    // B inserts first and is parked before it commits; A inserts after it and commits (unless the adapter makes it
    // wait for B, which is allowed).
    const callB = [makeEvent({ payload: { gate: gateB } })];
    const appendB = first.storage.append(callB);
    expect(await settledOrWaiting(appendB, first.name)).toBe("waiting");
    const callA = [makeEvent(), makeEvent()];
    const appendA = second.storage.append(callA);
    await settledOrWaiting(appendA, second.name);
    // Readers look while B is still open (concurrently: a reader may wait a little for B).
    const [seen, listed, back] = await Promise.all([
      tail(bus, (seed[0] as Event).event_id, 1),
      bus.listEvents({ limit: 1000 }),
      bus.listEvents({ before: (seed[1] as Event).event_id }),
    ]);
    expect(ids(back)).toEqual([seed[0]?.event_id]);
    await openGate(gateB);
    await Promise.all([appendA, appendB]);
    await expectOneStableOrder({
      bus,
      writer: first.storage,
      seed,
      calls: [seed, callB, callA],
      earlier: [listed, [seed[0] as Event, ...seen]],
      tailed: seen,
    });
  });
});
