import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventBus, StorageError } from "../../src/index.js";
import {
  type PostgresEventStorage,
  type PostgresStorageOptions,
  postgresStorage,
} from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, makeEvent, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const PASSWORD = "s3cret";

/** Settles every promise and splits the outcomes; every rejection must be a StorageError. */
async function settle<T>(promises: readonly Promise<T>[]): Promise<{ values: T[]; errors: StorageError[] }> {
  const results = await Promise.allSettled(promises);
  const values: T[] = [];
  const errors: StorageError[] = [];
  for (const result of results) {
    if (result.status === "fulfilled") values.push(result.value);
    else {
      expect(result.reason).toBeInstanceOf(StorageError);
      errors.push(result.reason as StorageError);
    }
  }
  return { values, errors };
}

/** Retries `attempt` until it succeeds or `timeoutMs` passes (the pool may still hold a connection that is gone). */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe.skipIf(!available)("postgresStorage under faults", () => {
  const tables: string[] = [];
  const pools: pg.Pool[] = [];
  let admin: pg.Pool;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(PG_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    admin = createPool(PG_URL);
  });

  afterAll(async () => {
    proxy.restore();
    await Promise.all(pools.map((pool) => pool.end()));
    await proxy.close();
    await dropTestObjects(PG_URL, { tables });
    await admin.end();
  });

  /** A storage on a fresh table, reached through the proxy with a password in the URL (trust auth ignores it). */
  function storageBehindProxy(options: Partial<PostgresStorageOptions> = {}): {
    storage: PostgresEventStorage;
    pool: pg.Pool;
    applicationName: string;
  } {
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    url.username = url.username || "postgres";
    url.password = PASSWORD;
    const applicationName = uniqueName("faults");
    const pool = createPool(url.href, { connectionTimeoutMillis: 1000, application_name: applicationName });
    pools.push(pool);
    const table = uniqueName("faults");
    tables.push(table);
    return { storage: postgresStorage({ pool, table, ...options }), pool, applicationName };
  }

  /** 40 append calls of 5 events each, one flow per call. */
  function fiveEventCalls(prefix: string): Event[][] {
    return Array.from({ length: 40 }, (_, call) =>
      Array.from({ length: 5 }, () => makeEvent({ flow_id: `${prefix}-${call}` })),
    );
  }

  /** Holds a lock that makes every INSERT into the storage's table wait, so statements stay in flight. */
  async function lockTable(storage: PostgresEventStorage): Promise<pg.PoolClient> {
    await storage.ensureSchema();
    const client = await admin.connect();
    await client.query("BEGIN");
    await client.query(`LOCK TABLE ${storage.table} IN SHARE MODE`);
    return client;
  }

  async function unlock(client: pg.PoolClient): Promise<void> {
    await client.query("ROLLBACK");
    client.release();
  }

  /** Polls until `count` statements of the pool are waiting on the table lock. */
  async function waitForBlockedInserts(applicationName: string, count: number): Promise<void> {
    await eventually(async () => {
      const blocked = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [applicationName],
      );
      if (blocked.rows[0].n < count) throw new Error(`only ${blocked.rows[0].n} inserts are waiting`);
    });
  }

  async function terminateBackends(applicationName: string): Promise<void> {
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
  }

  /** For each call, either all of its events are stored or none: nothing half-written. */
  async function expectWholeCalls(storage: PostgresEventStorage, calls: readonly (readonly Event[])[]) {
    // One call at a time: 200 gets at once could queue past the pool's connectionTimeoutMillis on a busy machine.
    const counts: number[] = [];
    for (const events of calls) {
      const stored = await Promise.all(events.map((event) => storage.get(event.event_id)));
      counts.push(stored.filter((event) => event !== null).length);
    }
    for (const [index, count] of counts.entries()) expect([0, calls[index]?.length]).toContain(count);
    return counts;
  }

  it("rejects with a StorageError naming postgres and the cause, without the password, when unreachable at start", async () => {
    const { storage } = storageBehindProxy();
    const bus = new EventBus({ storage });
    proxy.cut();
    try {
      const error = await bus.emitEvent({ event_type: "deal.created" }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      const storageError = error as StorageError;
      expect(storageError.storage).toBe("postgres");
      expect(storageError.operation).toBe("setup");
      expect(storageError.message).toMatch(/^\[ad-seller-events\] postgres storage failed during setup: \S/);
      expect(storageError.message).not.toContain(PASSWORD);
      expect(storageError.cause).toBeInstanceOf(Error);
      expect(await bus.getEvent(crypto.randomUUID()).catch((caught: unknown) => caught)).toBeInstanceOf(StorageError);
    } finally {
      proxy.restore();
    }
    // The failed schema creation was not remembered: it runs again now that the server is reachable.
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "after-outage" });
    expect(await bus.listEvents({ deal_id: "after-outage" })).toEqual([event]);
  });

  it("rejects appends whose connection drops mid-statement, writes no half call, then works again", async () => {
    const { storage, applicationName } = storageBehindProxy({ maxBatchRows: 50 });
    const calls = fiveEventCalls("drop");
    const locked = await lockTable(storage);
    const settled = Promise.allSettled(calls.map((events) => storage.append(events)));
    try {
      await waitForBlockedInserts(applicationName, 2);
      proxy.dropConnections();
    } finally {
      await unlock(locked);
    }
    const results = await settled;
    expect(results.filter((result) => result.status === "rejected").length).toBeGreaterThan(0);
    const counts = await expectWholeCalls(storage, calls);
    results.forEach((result, index) => {
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(StorageError);
      // A call reported as done is stored in full; a failed one may have committed just before its answer was lost.
      else expect(counts[index]).toBe(5);
    });
    const after = makeEvent({ flow_id: "after-drop" });
    expect(await eventually(() => storage.append([after]))).toEqual([null]);
    expect(await storage.list({ flow_id: "after-drop", limit: 10 })).toEqual([after]);
  });

  it("fails fast with StorageError during an outage and recovers when the server is back", async () => {
    const { storage } = storageBehindProxy();
    const bus = new EventBus({ storage });
    const before = await bus.emitEvent({ event_type: "session.created", session_id: "outage" });
    proxy.cut();
    let failed: StorageError[];
    try {
      const during = Array.from({ length: 10 }, () =>
        bus.emitEvent({ event_type: "session.resumed", session_id: "outage" }),
      );
      const outcome = await settle(during);
      expect(outcome.values).toEqual([]);
      failed = outcome.errors;
      const listError = await bus.listEvents({ session_id: "outage" }).catch((caught: unknown) => caught);
      expect(listError).toBeInstanceOf(StorageError);
    } finally {
      proxy.restore();
    }
    expect(failed).toHaveLength(10);
    expect(failed.every((error) => error.storage === "postgres" && !error.message.includes(PASSWORD))).toBe(true);
    const resumed = await eventually(() => bus.emitEvent({ event_type: "session.closed", session_id: "outage" }));
    expect(await bus.listEvents({ session_id: "outage" })).toEqual([before, resumed]);
  });

  it("survives pg_terminate_backend on its backends mid-statement and idle, storing nothing of a killed call", async () => {
    const { storage, applicationName } = storageBehindProxy({ maxBatchRows: 50 });
    const calls = fiveEventCalls("kill");
    const locked = await lockTable(storage);
    const settled = Promise.allSettled(calls.map((events) => storage.append(events)));
    try {
      await waitForBlockedInserts(applicationName, 2);
      await terminateBackends(applicationName);
    } finally {
      await unlock(locked);
    }
    const results = await settled;
    const counts = await expectWholeCalls(storage, calls);
    expect(results.filter((result) => result.status === "rejected").length).toBeGreaterThan(0);
    results.forEach((result, index) => {
      if (result.status === "rejected") {
        expect(result.reason).toBeInstanceOf(StorageError);
        expect(counts[index]).toBe(0); // killed before it could commit
      } else expect(counts[index]).toBe(5);
    });

    await terminateBackends(applicationName); // idle now: the next use finds its connections dead
    const next = makeEvent({ flow_id: "after-kill" });
    expect(await eventually(() => storage.append([next]))).toEqual([null]);
    expect(await storage.list({ flow_id: "after-kill", limit: 5 })).toEqual([next]);
  });
});
