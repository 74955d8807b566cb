// A black-holed PostgreSQL (a proxy that keeps connections open and forwards nothing): every store call must reject
// with a StorageError naming the store, the operation and the deadline, instead of waiting for the server to thaw;
// and once the proxy forwards again, the same storage and pool work, with no connection reused in a broken state.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus, StorageError } from "../../src/index.js";
import { PostgresTimeoutError, postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const TIMEOUT_MS = 300;

/** What a call rejected with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(StorageError);
  return outcome as StorageError;
}

function expectDeadline(error: StorageError, operation: string): void {
  expect(error.storage).toBe("postgres");
  expect(error.operation).toBe(operation);
  expect(error.cause).toBeInstanceOf(PostgresTimeoutError);
  expect(error.message).toContain(`postgres storage failed during ${operation}`);
  expect(error.message).toContain(`within ${TIMEOUT_MS} ms (timeoutMs)`);
}

describe.skipIf(!available)("postgresStorage with a deadline, behind a black hole", () => {
  const tables: string[] = [];
  const pools: pg.Pool[] = [];
  let proxy: TcpProxy;

  beforeAll(async () => {
    const target = new URL(PG_URL);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterAll(async () => {
    proxy.forward();
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    await proxy.close();
    await dropTestObjects(PG_URL, { tables });
  });

  /** A pool through the proxy, deliberately without pg's own timeouts: only the adapter's deadline bounds calls. */
  function poolBehindProxy(): pg.Pool {
    const url = new URL(PG_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    const pool = createPool(url.href, { max: 3 });
    pools.push(pool);
    return pool;
  }

  function table(): string {
    const name = uniqueName("deadline");
    tables.push(name);
    return name;
  }

  it("rejects emit, list and get with a StorageError at the deadline, then recovers when the server answers", async () => {
    const pool = poolBehindProxy();
    const discarded = new Set<pg.PoolClient>();
    pool.on("remove", (client) => discarded.add(client));
    const bus = new EventBus({ storage: postgresStorage({ pool, table: table(), timeoutMs: TIMEOUT_MS }) });
    const before = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    proxy.hold();
    try {
      // Several at once: group commit, queued calls and a pool whose every connection is stuck are all bounded.
      const emits = Array.from({ length: 5 }, (_, index) =>
        rejection(bus.emitEvent({ event_type: "deal.synced", deal_id: `d-${index}` })),
      );
      const lists = [rejection(bus.listEvents({ deal_id: "d-1" })), rejection(bus.listEvents())];
      for (const error of await Promise.all(emits)) expectDeadline(error, "append");
      for (const error of await Promise.all(lists)) expectDeadline(error, "list");
      expectDeadline(await rejection(bus.getEvent(before.event_id)), "get");
      // The connections whose queries timed out are closed while the server is still silent, not kept for reuse.
      while (discarded.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(pool.totalCount).toBeLessThanOrEqual(3);
    } finally {
      proxy.forward();
    }
    // The connections that timed out were closed; the pool makes new ones, and nothing answers out of turn.
    const after = await bus.emitEvent({ event_type: "deal.registered", deal_id: "d-1" });
    expect(await bus.getEvent(before.event_id)).toEqual(before);
    const listed = await bus.listEvents({ deal_id: "d-1", limit: 1000 });
    expect(listed.map((event) => event.event_id)).toEqual(expect.arrayContaining([before.event_id, after.event_id]));
    expect(listed.at(-1)).toEqual(after);
    for (let round = 0; round < 10; round++) {
      expect(await bus.getEvent(after.event_id)).toEqual(after);
    }
    expect(pool.totalCount).toBeLessThanOrEqual(3);
    await bus.close();
  });

  it("bounds the JSON reads with the call's one deadline and closes the connection whose query was in flight", async () => {
    // Written through a pool that is not behind the proxy, so that the reading storage runs nothing but its reads.
    const name = table();
    const direct = createPool(PG_URL);
    pools.push(direct);
    const writer = new EventBus({ storage: postgresStorage({ pool: direct, table: name }) });
    const event = await writer.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    const pool = poolBehindProxy();
    const timedOut: unknown[] = [];
    pool.on("release", (error: unknown) => {
      if (error instanceof Error) timedOut.push(error);
    });
    const bus = new EventBus({ storage: postgresStorage({ pool, table: name, timeoutMs: TIMEOUT_MS }) });
    expect((await bus.listEventsJsonPage()).json).toEqual([JSON.stringify(event)]);
    // Two idle connections, so that each read below finds one and its query (not its checkout) meets the deadline.
    await Promise.all([pool.query("SELECT pg_sleep(0.05)"), pool.query("SELECT pg_sleep(0.05)")]);
    proxy.hold();
    try {
      expectDeadline(await rejection(bus.listEventsJsonPage()), "list");
      // Released with the timeout (so pg closes it) before the caller heard of the deadline, not kept for reuse.
      expect(timedOut).toEqual([expect.any(PostgresTimeoutError)]);
      expectDeadline(await rejection(bus.getEventJson(event.event_id)), "get");
      expect(timedOut).toEqual([expect.any(PostgresTimeoutError), expect.any(PostgresTimeoutError)]);
    } finally {
      proxy.forward();
    }
    expect((await bus.listEventsJsonPage()).json).toEqual([JSON.stringify(event)]);
    expect(await bus.getEventJson(event.event_id)).toBe(JSON.stringify(event));
    await bus.close();
    await writer.close();
  });

  it("bounds schema setup and retries it once the server answers", async () => {
    const pool = poolBehindProxy();
    // A first query so that the pool holds an idle connection through the proxy.
    await pool.query("SELECT 1");
    const storage = postgresStorage({ pool, table: table(), timeoutMs: TIMEOUT_MS });
    proxy.hold();
    try {
      expectDeadline(await rejection(storage.ensureSchema()), "setup");
    } finally {
      proxy.forward();
    }
    await storage.ensureSchema();
    const bus = new EventBus({ storage });
    const event = await bus.emitEvent({ event_type: "session.created" });
    expect(await bus.listEvents()).toEqual([event]);
    await storage.close();
  });

  it("bounds close, even when ending the pool would wait for the server", async () => {
    const pool = poolBehindProxy();
    const storage = postgresStorage({ pool, table: table(), timeoutMs: TIMEOUT_MS, closePool: true });
    const bus = new EventBus({ storage });
    await bus.emitEvent({ event_type: "session.created" });
    proxy.hold();
    try {
      const emit = rejection(bus.emitEvent({ event_type: "session.closed" }));
      expectDeadline(await rejection(storage.close()), "close");
      expectDeadline(await emit, "append");
    } finally {
      proxy.forward();
    }
  });
});
