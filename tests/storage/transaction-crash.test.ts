// The seller flow of docs/transactions.md under a real crash: a process saves a deal and emits `deal.created` in one
// transaction, then dies by SIGKILL before COMMIT. Neither the deal nor the event may exist, and no tail, consumer
// or read may ever see the event; a deal committed afterwards is seen everywhere.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EventBus } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { printed, startChild } from "../fixtures/postgres-children.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

const pgAvailable = await serviceAvailable("PostgreSQL", PG_URL);
const openSqlite = await loadAnySqlite();

/** What a tail and a durable consumer on `bus` have seen of `deal.created`, by deal id. */
function watch(bus: EventBus) {
  const controller = new AbortController();
  const tailed: string[] = [];
  const handled: string[] = [];
  const tailing = (async () => {
    for await (const event of bus.tail({ event_type: "deal.created" }, { signal: controller.signal })) {
      tailed.push(event.deal_id as string);
    }
  })().catch(() => undefined);
  const consumer = bus.consume(
    "crash-watch",
    (events) => {
      for (const event of events) handled.push(event.deal_id as string);
    },
    { query: { event_type: "deal.created" }, from: "start" },
  );
  return {
    tailed,
    handled,
    async until(dealId: string): Promise<void> {
      for (let tries = 0; tries < 1_000 && !(tailed.includes(dealId) && handled.includes(dealId)); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop(): Promise<void> {
      controller.abort();
      await tailing;
      await consumer.stop();
    },
  };
}

/** Starts the seller child, waits until its event is written inside the open transaction, and kills it there. */
async function crashBeforeCommit(args: string[]): Promise<void> {
  const child = startChild("seller-crash-writer.ts", args);
  await printed(child, "emitted");
  child.process.kill("SIGKILL");
  if (child.process.exitCode === null && child.process.signalCode === null) await once(child.process, "exit");
}

describe.skipIf(!pgAvailable)("PostgreSQL: a seller process killed between emit and COMMIT", () => {
  const table = uniqueName("tx_crash");
  const pool = createPool(PG_URL, { max: 6 });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}_deals"`);
    await dropTestObjects(PG_URL, { tables: [table] });
    await pool.end();
  });

  it("leaves neither the deal nor the event; a tail, a consumer and reads never see it", async () => {
    await pool.query(`CREATE TABLE "${table}_deals" (deal_id text PRIMARY KEY)`);
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    await bus.emitEvent({ event_type: "session.created" });
    const seen = watch(bus);
    const crashed = `deal-${randomUUID()}`;
    await crashBeforeCommit(["postgres", PG_URL, table, crashed]);

    const saved = `deal-${randomUUID()}`;
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`INSERT INTO "${table}_deals" (deal_id) VALUES ($1)`, [saved]);
      await bus.emitEvent({ event_type: "deal.created", deal_id: saved }, { transaction: client });
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    await seen.until(saved);
    await seen.stop();

    expect(seen.tailed).toEqual([saved]);
    expect(seen.handled).toEqual([saved]);
    expect(await bus.listEvents({ deal_id: crashed })).toEqual([]);
    const deals = await pool.query(`SELECT deal_id FROM "${table}_deals"`);
    expect(deals.rows).toEqual([{ deal_id: saved }]);
    const stored = await pool.query(`SELECT count(*)::int AS n FROM "${table}" WHERE deal_id = $1`, [crashed]);
    expect(stored.rows[0].n).toBe(0);
    await bus.close();
  });
});

describe("SQLite: a seller process killed between emit and COMMIT", () => {
  const directory = mkdtempSync(join(tmpdir(), "sqlite-tx-crash-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("leaves neither the deal nor the event; a tail, a consumer and reads never see it", async () => {
    const file = join(directory, "seller.sqlite");
    const database = openSqlite(file);
    database.exec("CREATE TABLE deals (deal_id TEXT PRIMARY KEY)");
    const bus = new EventBus({ storage: sqliteStorage({ database, closeDatabase: true }), closeStorage: true });
    await bus.emitEvent({ event_type: "session.created" });
    const seen = watch(bus);
    const crashed = `deal-${randomUUID()}`;
    await crashBeforeCommit(["sqlite", file, crashed]);

    const saved = `deal-${randomUUID()}`;
    database.exec("BEGIN");
    database.prepare("INSERT INTO deals (deal_id) VALUES (?)").run(saved);
    await bus.emitEvent({ event_type: "deal.created", deal_id: saved }, { transaction: database });
    database.exec("COMMIT");
    await seen.until(saved);
    await seen.stop();

    expect(seen.tailed).toEqual([saved]);
    expect(seen.handled).toEqual([saved]);
    expect(await bus.listEvents({ deal_id: crashed })).toEqual([]);
    expect(database.prepare("SELECT deal_id FROM deals").all()).toEqual([{ deal_id: saved }]);
    await bus.close();
  });
});
