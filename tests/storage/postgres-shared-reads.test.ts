// Identical reads sharing statements (SharedReads): a read that arrives while an identical one is in flight shares
// the next run, never the one in flight, so it always sees what was committed before it asked; first with scripted
// work, then on a real PostgreSQL through the store's listJson.
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { EventBus } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import type { CallDeadline } from "../../src/storage/postgres/postgres-deadline.js";
import { SharedReads } from "../../src/storage/postgres/postgres-shared-reads.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

/** Scripted reads: each run is recorded with the number of calls that had arrived when it started, and waits. */
function scriptedReads() {
  const runs: { arrivedBefore: number; finish: (value: string[]) => void; fail: (error: Error) => void }[] = [];
  const deadlines: CallDeadline[] = [];
  let arrived = 0;
  const reads = new SharedReads<string[]>();
  const read = (key: string) => {
    arrived += 1;
    const deadline: CallDeadline = { expired: false, onExpire: undefined };
    const answer = reads.run(key, deadline, (shared) => {
      deadlines.push(shared);
      return new Promise<string[]>((finish, fail) => runs.push({ arrivedBefore: arrived, finish, fail }));
    });
    return { answer, deadline };
  };
  return { read, runs, deadlines };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("SharedReads", () => {
  it("runs a read at once when no identical one is in flight, and different keys never share", async () => {
    const { read, runs } = scriptedReads();
    const first = read("newest 50");
    const other = read("newest 10");
    expect(runs).toHaveLength(2);
    runs[0]?.finish(["a"]);
    runs[1]?.finish(["b"]);
    expect(await first.answer).toEqual(["a"]);
    expect(await other.answer).toEqual(["b"]);
    // Settled: the next identical read runs at once again.
    read("newest 50");
    expect(runs).toHaveLength(3);
  });

  it("lets reads that arrive during a run share the next one, started after the last of them arrived", async () => {
    const { read, runs } = scriptedReads();
    const first = read("page");
    const waiting = [read("page"), read("page"), read("page")];
    expect(runs).toHaveLength(1); // nobody joined the run in flight
    runs[0]?.finish(["old"]);
    expect(await first.answer).toEqual(["old"]);
    await settle();
    expect(runs).toHaveLength(2);
    expect(runs[1]?.arrivedBefore).toBe(4); // started after all four callers had asked
    runs[1]?.finish(["new", "page"]);
    const answers = await Promise.all(waiting.map((call) => call.answer));
    for (const answer of answers) expect(answer).toEqual(["new", "page"]);
    // Each caller holds its own array: one caller's change is nobody else's.
    answers[0]?.push("changed");
    expect(answers[1]).toEqual(["new", "page"]);
  });

  it("hands a failed run's error to every caller sharing it, then starts afresh", async () => {
    const { read, runs } = scriptedReads();
    const first = read("page");
    const second = read("page");
    const third = read("page");
    runs[0]?.finish(["x"]);
    await first.answer;
    await settle();
    const failure = new Error("connection lost");
    runs[1]?.fail(failure);
    await expect(second.answer).rejects.toBe(failure);
    await expect(third.answer).rejects.toBe(failure);
    read("page");
    expect(runs).toHaveLength(3);
  });

  it("gives up a shared run only once every caller's deadline has passed", async () => {
    const { read, runs, deadlines } = scriptedReads();
    const first = read("page");
    const late = [read("page"), read("page")];
    runs[0]?.finish(["x"]);
    await first.answer;
    await settle();
    const shared = deadlines[1] as CallDeadline;
    let discarded = 0;
    shared.onExpire = () => (discarded += 1);
    late[0]?.deadline.onExpire?.();
    expect(shared.expired).toBe(false);
    expect(discarded).toBe(0);
    late[1]?.deadline.onExpire?.();
    expect(shared.expired).toBe(true);
    expect(discarded).toBe(1);
  });
});

describe.skipIf(!available)("SharedReads on PostgreSQL: listJson", () => {
  const tables: string[] = [];
  const pools: pg.Pool[] = [];

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    for (const pool of pools) await pool.end();
  });

  /**
   * A pool whose next promise-style checkout (a read's; pg's own `pool.query` uses the callback style and passes
   * through) answers its first query only once released: the read is then in flight with its snapshot taken, as a
   * slow network would leave it. `answered` turns true once the server has answered it; `checkouts` counts reads.
   */
  function heldPool() {
    const pool = createPool(PG_URL, { max: 6 });
    pools.push(pool);
    const state = { answered: false, checkouts: 0, hold: undefined as Promise<void> | undefined };
    let release: () => void = () => {};
    const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient>;
    (pool as unknown as { connect: unknown }).connect = async (...args: unknown[]) => {
      if (args.length > 0) return connect(...args);
      state.checkouts += 1;
      const client = await connect();
      const gate = state.hold;
      state.hold = undefined;
      if (gate !== undefined) {
        const query = client.query.bind(client) as (config: unknown) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = async (config: unknown) => {
          const result = await query(config);
          (client as unknown as { query: unknown }).query = query;
          state.answered = true;
          await gate;
          return result;
        };
      }
      return client;
    };
    /** Holds the next read; resolves once its statement has been answered, with the release. */
    const holdNext = async (start: () => unknown) => {
      state.answered = false;
      state.hold = new Promise((resolve) => (release = resolve));
      start();
      while (!state.answered) await new Promise((resolve) => setTimeout(resolve, 2));
      return release;
    };
    return { pool, state, holdNext };
  }

  async function busOn(pool: pg.Pool) {
    const table = uniqueName("shared_reads");
    tables.push(table);
    const storage = postgresStorage({ pool, table });
    const bus = new EventBus({ storage });
    await bus.emitEvent({ event_type: "deal.created", deal_id: "deal-before" });
    return { storage, bus };
  }

  it("answers a read that arrived after a write with the write, though an identical read was in flight", async () => {
    const { pool, holdNext } = heldPool();
    const { storage, bus } = await busOn(pool);

    let inFlight: ReturnType<typeof bus.listEventsJsonPage> | undefined;
    // Its statement ran before the write.
    const release = await holdNext(() => (inFlight = bus.listEventsJsonPage({ limit: 10 })));
    const written = await bus.emitEvent({ event_type: "deal.created", deal_id: "deal-after" });
    const arrivedLater = bus.listEventsJsonPage({ limit: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();

    const before = (await inFlight)?.json.join("\n");
    expect(before).toContain("deal-before");
    expect(before).not.toContain("deal-after"); // the first read really was answered before the write
    expect((await arrivedLater).json.join("\n")).toContain(written.event_id);
    await storage.close();
  });

  it("runs the identical reads that arrive during a read as one statement, and each gets the whole page", async () => {
    const { pool, state, holdNext } = heldPool();
    const { storage, bus } = await busOn(pool);
    state.checkouts = 0;

    let first: ReturnType<typeof bus.listEventsJsonPage> | undefined;
    const release = await holdNext(() => (first = bus.listEventsJsonPage({ limit: 10 })));
    const burst = [1, 2, 3].map(() => bus.listEventsJsonPage({ limit: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const pages = await Promise.all([first, ...burst]);

    expect(state.checkouts).toBe(2); // the held read, then one statement for the three
    for (const page of pages) expect(page?.json.join("\n")).toContain("deal-before");
    await storage.close();
  });
});
