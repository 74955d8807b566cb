import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError, StorageError } from "../../src/index.js";
import {
  type PostgresEventStorage,
  type PostgresStorageOptions,
  postgresSchemaSql,
  postgresStorage,
} from "../../src/storage/postgres/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import {
  countInsertStatements,
  createPool,
  dropTestObjects,
  makeEvent,
  nonEmpty,
  uniqueName,
} from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);

/** An event built without the bus's validation, as a direct caller of the storage API might pass one. */
function unvalidated(fields: Partial<Event>): Event {
  return Object.freeze({ ...makeEvent(), ...fields });
}

describe.skipIf(!available)("postgresStorage", () => {
  const tables: string[] = [];
  const schemas: string[] = [];
  const pools: pg.Pool[] = [];
  const tableOf = new WeakMap<object, string>();
  const pool = createPool(PG_URL);

  function newPool(): pg.Pool {
    const extra = createPool(PG_URL);
    pools.push(extra);
    return extra;
  }

  function freshStorage(options: Partial<PostgresStorageOptions> = {}): PostgresEventStorage {
    const table = uniqueName("events");
    tables.push(table);
    const storage = postgresStorage({ pool, table, ...options });
    tableOf.set(storage, table);
    return storage;
  }

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables: tables.flatMap((t) => [t, `${t}_webhooks`, `${t}_webhook_log`]), schemas });
    await Promise.all([pool, ...pools].map((each) => each.end()));
  });

  describeStorageConformance({
    name: "postgres",
    checkpoints: true,
    webhooks: true,
    createStorage: () => freshStorage(),
    reopen: (closed) => postgresStorage({ pool: newPool(), table: tableOf.get(closed) as string }),
    watch: true,
    peer: (storage) => postgresStorage({ pool: newPool(), table: tableOf.get(storage) as string }),
    prune: true,
    describe,
    it,
    expect,
  });

  describe("schema", () => {
    it("exports idempotent schema SQL with the table, the position and one (column, position) index per filter", async () => {
      const schema = uniqueName("seller");
      schemas.push(schema);
      const sql = postgresSchemaSql({ schema, table: "events" });
      expect(sql).toContain(`CREATE SCHEMA IF NOT EXISTS "${schema}";`);
      expect(sql).toContain("seq bigint GENERATED ALWAYS AS IDENTITY");
      expect(sql).toContain("position bigint,");
      expect(sql).not.toContain("xid xid8");
      for (const column of ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id", "event_type"]) {
        expect(sql).toContain(`"events_${column}_pos" ON "${schema}"."events" (${column}, position)`);
      }
      expect(sql).toContain(`"events_timestamp_pos" ON "${schema}"."events" ("timestamp", position)`);
      expect(sql).toContain(`"events_position_key" ON "${schema}"."events" (position)`);
      expect(sql).toContain(`"events_unpositioned" ON "${schema}"."events" (seq) WHERE position IS NULL`);
      expect(postgresSchemaSql()).toContain('CREATE TABLE IF NOT EXISTS "public"."ad_seller_events"');

      await pool.query(sql);
      await pool.query(sql); // a migration tool may apply it twice
      const indexes = await pool.query("SELECT indexname FROM pg_indexes WHERE schemaname = $1", [schema]);
      expect(indexes.rows).toHaveLength(12); // eleven on the events table, the pruned table's primary key
      const storage = postgresStorage({ pool, schema, table: "events", createSchema: false });
      const event = makeEvent({ flow_id: "migrated" });
      expect(await storage.append([event])).toEqual([null]);
      expect(await storage.list({ flow_id: "migrated", limit: 10 })).toEqual([event]);
    });

    it("refuses schema and table names that are not plain lower-case identifiers, and a missing pool", () => {
      for (const table of ["Events", "events;drop table x", "1events", "", 'ev"ents', "a".repeat(48)]) {
        expect(() => postgresStorage({ pool, table }), table).toThrow(EventValidationError);
      }
      expect(() => postgresStorage({ pool, schema: "bad-schema" })).toThrow(/schema: must be a lower-case SQL/);
      expect(() => postgresSchemaSql({ table: "DROP" })).toThrow(EventValidationError);
      expect(postgresStorage({ pool, table: "a".repeat(47) }).table).toBe(`"public"."${"a".repeat(47)}"`);
      expect(() => postgresStorage({} as PostgresStorageOptions)).toThrow(/pool: must be a pg Pool/);
      expect(() => postgresStorage({ pool, maxBatchRows: 0 })).toThrow(/maxBatchRows/);
    });

    it("creates a custom schema and table on first use and stores events there", async () => {
      const schema = uniqueName("custom");
      schemas.push(schema);
      const storage = postgresStorage({ pool, schema, table: "seller_events" });
      const event = makeEvent({ deal_id: "deal-7" });
      await storage.append([event]);
      const stored = await pool.query(`SELECT event_id::text AS id, position FROM "${schema}"."seller_events"`);
      // Read-your-writes: the append resolved once its event had its reading position.
      expect(stored.rows).toEqual([{ id: event.event_id, position: "1" }]);
      expect(storage.table).toBe(`"${schema}"."seller_events"`);
    });

    it("fails with StorageError when auto-creation is off and the table is missing", async () => {
      const storage = postgresStorage({ pool, table: uniqueName("missing"), createSchema: false });
      const error = await storage.append([makeEvent()]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).message).toMatch(/postgres storage failed during append: .*does not exist/);
    });
  });

  describe("payloads", () => {
    it("keeps large and precise numbers exact through jsonb", async () => {
      const storage = freshStorage();
      const payload = {
        max_safe: Number.MAX_SAFE_INTEGER,
        min_safe: Number.MIN_SAFE_INTEGER,
        two_pow_64: 2 ** 64,
        huge: 1.7976931348623157e308,
        tiny: 5e-324,
        thirds: 1 / 3,
        money: 1234567.89,
        nested: { list: [1e21, -1e-7, 0.1 + 0.2] },
      };
      const event = makeEvent({ payload });
      await storage.append([event]);
      expect((await storage.get(event.event_id))?.payload).toEqual(payload);
      expect((await storage.list({ limit: 1 }))[0]?.payload).toEqual(payload);
      const raw = await pool.query(`SELECT payload->>'max_safe' AS max_safe FROM ${storage.table}`);
      expect(raw.rows[0].max_safe).toBe("9007199254740991");
    });
  });

  describe("statement forms", () => {
    it("stores an event sent alone (plain parameters) exactly as one sent in a group (one array per column)", async () => {
      const storage = freshStorage();
      const fields = {
        event_type: "deal.created",
        timestamp: "2026-12-02T10:00:00.000Z",
        flow_id: 'quote " backslash \\ line\nfeed',
        session_id: "emoji \u{1F600} and \u2028",
        payload: { text: "tab\there", big: 2 ** 64, list: [1, "two", null], nested: { empty: {} } },
        metadata: { source: "test", note: 'comma, "quote"' },
      };
      const alone = makeEvent(fields);
      const grouped = makeEvent(fields);
      await storage.append([alone]);
      await storage.append([makeEvent(), grouped, makeEvent()]);
      const rows = await pool.query(
        `SELECT event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload::text, ` +
          `metadata::text, replace(body, event_id::text, '') AS body FROM ${storage.table} ` +
          "WHERE event_id = ANY($1::uuid[]) ORDER BY position",
        [[alone.event_id, grouped.event_id]],
      );
      expect(rows.rows).toHaveLength(2);
      expect(rows.rows[0]).toEqual(rows.rows[1]);
      expect(await storage.get(alone.event_id)).toEqual(alone);
      expect(await storage.get(grouped.event_id)).toEqual(grouped);
    });
  });

  describe("group commit", () => {
    it("writes concurrent append calls with one statement, in one transaction", async () => {
      const storage = freshStorage();
      await storage.ensureSchema();
      const calls = Array.from({ length: 40 }, (_, index) => [makeEvent({ payload: { index } })]);
      const statements = await countInsertStatements(pool, storage.table);
      const outcomes = await Promise.all(calls.map((events) => storage.append(events)));
      expect(outcomes).toEqual(calls.map(() => [null]));
      expect(await statements()).toBe(1);
    });

    it("reports duplicates inside one batch per event, with the stored event", async () => {
      const storage = freshStorage();
      const existing = makeEvent({ flow_id: "before" });
      await storage.ensureSchema();
      const statements = await countInsertStatements(pool, storage.table);
      await storage.append([existing]);
      const first = makeEvent({ flow_id: "first" });
      const clash = Object.freeze({ ...first, flow_id: "clash" });
      const twin = makeEvent({ flow_id: "twin" });
      const other = makeEvent();
      const replay = Object.freeze({ ...existing, payload: Object.freeze({ changed: true }) });
      const outcomes = await Promise.all([
        storage.append([first]),
        storage.append([other, clash]),
        storage.append([twin, twin]),
        storage.append([replay]),
      ]);
      expect(outcomes).toEqual([[null], [null, first], [null, twin], [existing]]);
      const all = await storage.list({ limit: 100 });
      expect(all).toEqual([existing, first, other, twin]);
      expect(await statements()).toBe(2); // the first append, then one statement for the four calls
    });

    it("keeps each call's events in order and contiguous", async () => {
      const storage = freshStorage();
      const calls = Array.from({ length: 30 }, (_, call) =>
        Array.from({ length: 7 }, (_, index) => makeEvent({ flow_id: `call-${call}`, payload: { index } })),
      );
      await Promise.all(calls.map((events) => storage.append(events)));
      const all = await storage.list({ limit: 1000 });
      expect(all).toHaveLength(210);
      for (const events of calls) {
        const start = all.findIndex((event) => event.event_id === events[0]?.event_id);
        expect(all.slice(start, start + 7)).toEqual(events);
      }
    });

    it("fails only the call whose event PostgreSQL refuses, and stores its neighbours", async () => {
      const storage = freshStorage();
      const good = [makeEvent(), makeEvent(), makeEvent()];
      // The bus refuses U+0000; a caller of the storage API directly can still hand one over.
      const poisoned = unvalidated({ payload: { text: "nul \u0000 byte" } });
      const results = await Promise.allSettled([
        storage.append([good[0] as Event]),
        storage.append([good[1] as Event, poisoned]),
        storage.append([good[2] as Event]),
      ]);
      expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const reason = (results[1] as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(StorageError);
      expect((reason as StorageError).message).toMatch(/postgres storage failed during append/);
      expect(await storage.list({ limit: 10 })).toEqual([good[0], good[2]]);
      expect(await storage.get((good[1] as Event).event_id)).toBeNull();
    });

    it("stores a call larger than one statement all or nothing", async () => {
      const storage = freshStorage({ maxBatchRows: 10 });
      const big = Array.from({ length: 25 }, (_, index) => makeEvent({ payload: { index } }));
      expect(await storage.append(big)).toEqual(big.map(() => null));
      expect(await storage.list({ limit: 100 })).toEqual(big);
      const broken = Array.from({ length: 25 }, (_, index) =>
        index === 21
          ? unvalidated({ flow_id: "broken", payload: { bad: "\u0000" } })
          : makeEvent({ flow_id: "broken" }),
      );
      await expect(storage.append(broken)).rejects.toBeInstanceOf(StorageError);
      expect(await storage.list({ flow_id: "broken", limit: 100 })).toEqual([]);
    });
  });

  describe("statistics", () => {
    it("analyzes a table that this process grew, so the planner knows its values", async () => {
      const storage = freshStorage();
      const events = Array.from({ length: 1200 }, (_, index) =>
        makeEvent({ flow_type: index % 10 === 0 ? "rare_flow" : "common_flow" }),
      );
      await storage.append(events);
      const name = storage.table.split(".")[1]?.replaceAll('"', "");
      for (;;) {
        // Polls until the background ANALYZE has run (the test timeout bounds the wait).
        const stats = await pool.query("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = $1", [name]);
        if (stats.rows[0]?.last_analyze !== null && stats.rows[0]?.last_analyze !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const values = await pool.query(
        "SELECT most_common_vals::text AS v FROM pg_stats WHERE tablename = $1 AND attname = 'flow_type'",
        [name],
      );
      expect(values.rows[0]?.v).toContain("common_flow");
    });
  });

  describe("late commits", () => {
    /** Another writer's transaction that has inserted `event` as the adapter does, left uncommitted. */
    async function openPendingInsert(storage: PostgresEventStorage, event: Event) {
      await storage.ensureSchema();
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(
          `INSERT INTO ${storage.table} (event_id, event_type, "timestamp", flow_id) VALUES ($1, $2, $3, $4)`,
          [event.event_id, event.event_type, event.timestamp, event.flow_id],
        );
        return client;
      } catch (error) {
        client.release(true);
        throw error;
      }
    }

    it("lets newer appends through at once and never lets a tailer skip an event whose transaction commits late", async () => {
      const writer = freshStorage();
      const tailer = postgresStorage({ pool: newPool(), table: tableOf.get(writer) as string });
      const start = makeEvent();
      await writer.append([start]);
      const pending = makeEvent({ flow_id: "late" });
      const client = await openPendingInsert(writer, pending);
      try {
        // Writers wait on nobody: these commit (and are readable) while the pending transaction is still open.
        const newer = [makeEvent(), makeEvent(), makeEvent()];
        for (const event of newer) await writer.append([event]);
        expect(await tailer.list({ after: start.event_id, limit: 10 })).toEqual(newer);
        // The late row was inserted before them, yet its position comes after what the tailer has read.
        await client.query("COMMIT");
        const late = await nonEmpty(() => tailer.list({ after: (newer[2] as Event).event_id, limit: 10 }));
        expect(late.map((event) => event.flow_id)).toEqual(["late"]);
        const order = (await tailer.list({ after: start.event_id, limit: 10 })).map((event) => event.event_id);
        expect(order).toEqual([...newer.map((event) => event.event_id), pending.event_id]);
      } finally {
        await client.query("ROLLBACK").catch(() => {});
        client.release();
        await tailer.close();
      }
    });

    it("neither stalls nor hides a read while an unrelated session holds a transaction id open", async () => {
      const storage = freshStorage();
      await storage.ensureSchema();
      const idle = await pool.connect();
      try {
        // An idle-in-transaction session anywhere in the cluster holding an xid: it held back the old snapshot horizon.
        await idle.query("BEGIN");
        await idle.query("SELECT pg_current_xact_id()");
        const bus = new EventBus({ storage });
        const emitted = await bus.emitEvent({ event_type: "deal.created", deal_id: "visible" });
        expect(await bus.listEvents({ deal_id: "visible" })).toEqual([emitted]);
        expect(await bus.listEvents({ limit: 1 })).toEqual([emitted]);
        expect(await bus.listEvents({ after: emitted.event_id })).toEqual([]);
      } finally {
        await idle.query("ROLLBACK");
        idle.release();
      }
    });
  });

  describe("lifecycle", () => {
    it("leaves the caller's pool open on close, and ends it with closePool", async () => {
      const own = newPool();
      const kept = freshStorage({ pool: own });
      await kept.append([makeEvent()]);
      await kept.close();
      expect((await own.query("SELECT 1 AS one")).rows[0].one).toBe(1);
      await expect(kept.get(crypto.randomUUID())).rejects.toMatchObject({ code: "ERR_CLOSED" });
      const owned = freshStorage({ pool: own, closePool: true });
      await owned.close();
      expect(own.ended).toBe(true);
      pools.splice(pools.indexOf(own), 1);
    });

    it("serves an EventBus end to end", async () => {
      const bus = new EventBus({ storage: freshStorage() });
      const scope = bus.scope({ flow_type: "deal_sync", deal_id: "deal-3" });
      const created = await scope.emitEvent({ event_type: "deal.created", payload: { cpm: 4.2 } });
      const synced = await scope.emitEvent({ event_type: "deal.synced" });
      expect(await bus.listEvents({ deal_id: "deal-3" })).toEqual([created, synced]);
      expect(await bus.listEvents({ event_type: ["deal.synced", "deal.created"], limit: 1 })).toEqual([synced]);
      await bus.close();
    });
  });
});
