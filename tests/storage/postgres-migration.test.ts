// A table written by the previous release (append lock, `(xid, seq)` key) migrates online on first use, keeping its
// order; and an append past `timeoutMs` leaves nothing running on the server and never commits later.
import { afterAll, describe, expect, it } from "vitest";
import { type Event, StorageError } from "../../src/index.js";
import { legacyPostgresIndexes, postgresStorage } from "../../src/storage/postgres/index.js";
import { createPreviousReleaseTable, insertAsPreviousRelease } from "../fixtures/postgres-previous-release.js";
import { createPool, dropTestObjects, makeEvent, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const OLD_ROWS = 5000; // more than two numbering batches

describe.skipIf(!available)("postgresStorage on tables of the previous release", () => {
  const tables: string[] = [];
  const pool = createPool(PG_URL, { max: 8 });

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables });
    await pool.end();
  });

  it("numbers the existing rows in their order before any new one, and drops the dead xid key", async () => {
    const table = uniqueName("previous");
    tables.push(table);
    await createPreviousReleaseTable(pool, table);
    // Timestamps run backwards against the insertion order: only `seq` order is the order readers saw.
    const old = Array.from({ length: OLD_ROWS }, (_, index) =>
      makeEvent({
        flow_id: `flow-${index % 7}`,
        timestamp: new Date(Date.UTC(2026, 0, 1) - index * 1000).toISOString(),
      }),
    );
    for (let offset = 0; offset < OLD_ROWS; offset += 1000) {
      await insertAsPreviousRelease(pool, table, old.slice(offset, offset + 1000));
    }

    const storage = postgresStorage({ pool, table });
    const fresh = makeEvent({ flow_id: "flow-0" });
    expect(await storage.append([fresh])).toEqual([null]);
    const all: Event[] = [];
    for (let page = await storage.list({ limit: 1000, after: (old[0] as Event).event_id }); page.length > 0; ) {
      all.push(...page);
      page = await storage.list({ limit: 1000, after: (page.at(-1) as Event).event_id });
    }
    expect([old[0], ...all].map((event) => event?.event_id)).toEqual([...old, fresh].map((event) => event.event_id));
    // A filtered read walks the new partial index in the same order.
    const flow = await storage.list({ flow_id: "flow-0", limit: 1000 });
    const expected = [...old.filter((event) => event.flow_id === "flow-0"), fresh].slice(-1000);
    expect(flow.map((event) => event.event_id)).toEqual(expected.map((event) => event.event_id));

    const columns = await pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = $1", [
      table,
    ]);
    expect(columns.rows.map((row) => row.column_name)).not.toContain("xid");
    const keys = await pool.query("SELECT conname FROM pg_constraint WHERE conname = $1", [`${table}_pkey`]);
    expect(keys.rows).toEqual([]);
    // The old `(column, seq)` indexes stay until every process runs this release; they are listed for dropping.
    const legacy = legacyPostgresIndexes({ table });
    expect(legacy).toContain(`"public"."${table}_flow_id_seq"`);
    await storage.close();
  });

  it("ends the backend of an append past timeoutMs, so nothing is stored after the rejection", async () => {
    const table = uniqueName("deadline");
    tables.push(table);
    const applicationName = `${table}_writer`;
    const writerPool = createPool(PG_URL, { max: 4, application_name: applicationName });
    const storage = postgresStorage({ pool: writerPool, table, timeoutMs: 1000 });
    await storage.ensureSchema();
    const locker = await pool.connect();
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE ${storage.table} IN SHARE MODE`); // every INSERT waits; held 4 s
    try {
      const events = Array.from({ length: 4 }, () => makeEvent({ flow_id: "too-late" }));
      const started = Date.now();
      const outcomes = await Promise.allSettled(events.map((event) => storage.append([event])));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
      }
      // No INSERT of the writer is left waiting on the server once the callers are told.
      const busy = await pool.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'INSERT%' " +
          "AND state <> 'idle'",
        [applicationName],
      );
      expect(busy.rows[0]?.n).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4000 - (Date.now() - started))));
    } finally {
      await locker.query("COMMIT");
      locker.release();
    }
    const stored = await pool.query(`SELECT count(*)::int AS n FROM ${storage.table}`);
    expect(stored.rows[0]?.n).toBe(0);
    await storage.close();
    await writerPool.end();
  }, 20_000);
});
