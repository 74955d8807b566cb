// The post-commit sequencer under a real fleet: writer processes whose business transactions commit in random order
// (and sometimes roll back) while readers tail, and a leader killed with SIGKILL in the middle of a burst.
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { lastJson, printed, startChild } from "../fixtures/postgres-children.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const WRITERS = 8;
const PER_WRITER = 100;

describe.skipIf(!available)("postgresStorage sequencer across processes", () => {
  const tables: string[] = [];
  const pool = createPool(PG_URL, { max: 6 });

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    await pool.end();
  });

  /** Follows the table by position through the adapter (`after`), every 5 ms, until `stop()` and caught up. */
  async function tailByPosition(bus: EventBus, startId: string, stop: () => Promise<boolean>): Promise<string[]> {
    const seen: string[] = [];
    let cursor = startId;
    let quietAfterStop = 0;
    while (quietAfterStop < 3) {
      const page = await bus.listEvents({ after: cursor, limit: 1000 });
      seen.push(...page.map((event) => event.event_id));
      cursor = page.at(-1)?.event_id ?? cursor;
      if (page.length === 0 && (await stop())) quietAfterStop++;
      if (page.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen;
  }

  /**
   * The planted bug: a reader that ignores positions and follows the insertion number `seq` of committed rows,
   * as a reader of the previous design without its lock would. A row that commits late behind a higher `seq` is
   * skipped for good.
   */
  async function tailBySeq(table: string, stop: () => boolean): Promise<string[]> {
    const seen: string[] = [];
    let cursor = "0";
    let quietAfterStop = 0;
    while (quietAfterStop < 3) {
      const page = await pool.query<{ id: string; seq: string }>(
        `SELECT event_id::text AS id, seq::text AS seq FROM "${table}" WHERE seq > $1 ORDER BY seq LIMIT 1000`,
        [cursor],
      );
      seen.push(...page.rows.map((row) => row.id));
      cursor = page.rows.at(-1)?.seq ?? cursor;
      if (page.rows.length === 0 && stop()) quietAfterStop++;
      if (page.rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen;
  }

  it("never lets a tailer skip or repeat an event of 8 writer processes with random commit delays and rollbacks", async () => {
    const table = uniqueName("sequenced");
    tables.push(table);
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    const start = await bus.emitEvent({ event_type: "session.created", flow_id: "start" });
    let writing = true;
    const writers = Array.from({ length: WRITERS }, (_, writer) =>
      startChild("postgres-tx-writer.ts", [PG_URL, table, String(writer), String(PER_WRITER)]),
    );
    // Done once the writers have exited and every committed row has its position: when a writer that led the
    // sequencer exits, another process takes the lead within a moment and numbers the last rows. A row the tail's
    // cursor had passed by then would stay unseen, which is the skip this test is for.
    const unnumbered = async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${table}" WHERE position IS NULL`)).rows[0].n);
    const tailed = tailByPosition(bus, start.event_id, async () => !writing && (await unnumbered()) === 0);
    const naive = tailBySeq(table, () => !writing);
    const reports = await Promise.all(
      writers.map((child) => lastJson<{ committed: string[]; rolledBack: string[] }>(child)),
    );
    writing = false;
    const committed = new Set(reports.flatMap((report) => report.committed));
    const rolledBack = new Set(reports.flatMap((report) => report.rolledBack));
    expect(committed.size + rolledBack.size).toBe(WRITERS * PER_WRITER);

    const seen = await tailed;
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    expect(new Set(seen)).toEqual(committed); // nothing skipped, nothing rolled back
    // Every reader sees one order: the tail's is the final listing's.
    const final: Event[] = [];
    for (let cursor = start.event_id; ; ) {
      const page = await bus.listEvents({ after: cursor, limit: 1000 });
      if (page.length === 0) break;
      final.push(...page);
      cursor = (page.at(-1) as Event).event_id;
    }
    expect(seen).toEqual(final.map((event) => event.event_id));

    // The planted reader, run alongside on the same writes, loses events: what this test would catch.
    const naiveSeen = new Set(await naive);
    const skipped = [...committed].filter((id) => !naiveSeen.has(id));
    expect(skipped.length).toBeGreaterThan(0);
    await bus.close();
  }, 60_000);

  it("keeps positions coming, none given twice, when the leading process is killed mid-burst", async () => {
    const table = uniqueName("leader");
    tables.push(table);
    const leaderName = `${table}_leader`;
    const leader = startChild("postgres-burst-writer.ts", [PG_URL, table, leaderName]);
    await printed(leader, "ready");
    // Alone, it leads: its session holds the table's advisory lock.
    expect(await lockHolders()).toEqual([leaderName]);
    const others = [1, 2].map((index) => startChild("postgres-burst-writer.ts", [PG_URL, table, `${table}_${index}`]));
    await Promise.all(others.map((child) => printed(child, "ready")));
    await positionsBeyond(table, 0n, 200);

    leader.process.kill("SIGKILL");
    const atKill = await maxPosition(table);
    // Another process takes the lead and numbering goes on.
    const holders = await until(async () => {
      const names = await lockHolders();
      return names.length === 1 && names[0] !== leaderName ? names : undefined;
    });
    expect(holders[0]).toMatch(new RegExp(`^${table}_[12]$`));
    await positionsBeyond(table, atKill, 200);

    for (const child of others) child.process.stdin?.write("stop\n");
    const reports = await Promise.all(others.map((child) => lastJson<{ emitted: string[] }>(child)));
    const stats = await pool.query<{ rows: number; positioned: number; distinct: number }>(
      `SELECT count(*)::int AS rows, count(position)::int AS positioned, count(DISTINCT position)::int AS distinct FROM "${table}"`,
    );
    const { rows, positioned, distinct } = stats.rows[0] as { rows: number; positioned: number; distinct: number };
    expect(positioned).toBe(rows); // every committed row numbered, the killed leader's included
    expect(distinct).toBe(rows); // none twice
    // Each surviving writer's emits resolved with their positions (read-your-writes held through the hand-over).
    const emitted = reports.flatMap((report) => report.emitted);
    const found = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}" WHERE event_id = ANY($1::uuid[]) AND position IS NOT NULL`,
      [emitted],
    );
    expect(found.rows[0]?.n).toBe(emitted.length);
  }, 60_000);

  /** Application names of the sessions holding an advisory lock (only the sequencers of these tests take one). */
  async function lockHolders(): Promise<string[]> {
    const result = await pool.query<{ name: string }>(
      "SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
        "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE $1",
      [`${tables.at(-1)}%`],
    );
    return result.rows.map((row) => row.name);
  }

  async function maxPosition(table: string): Promise<bigint> {
    const result = await pool.query<{ top: string }>(`SELECT coalesce(max(position), 0)::text AS top FROM "${table}"`);
    return BigInt(result.rows[0]?.top ?? "0");
  }

  async function positionsBeyond(table: string, from: bigint, count: number): Promise<void> {
    await until(async () => ((await maxPosition(table)) >= from + BigInt(count) ? true : undefined));
  }
});

/** Polls `probe` every 10 ms until it answers something (the test's timeout bounds the wait). */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
