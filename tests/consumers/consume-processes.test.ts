// Real processes on each durable store: an active consumer and a standby with one name; the active one is
// SIGKILLed mid-batch, or SIGSTOPped until its lease expires. Every handler call is logged by pid.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, type EventStorage } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import type { ChildConfig } from "../fixtures/consumer-process.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { type ConsumerChild, overlaps, readLog, startConsumer, untilLog } from "../support/consumer-processes.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

const openSqlite = await loadAnySqlite();

const LEASE_MS = 1_000;
const BATCH = 10;
const EVENTS = 300;
/**
 * Generous bound on takeover after SIGKILL: the lease (1 s) plus a standby poll (100 ms) plus slack for a loaded
 * 2-core machine. The design bound is leaseMs + leaseMs / 10; this only catches "never" or "much later".
 */
const TAKEOVER_BOUND_MS = LEASE_MS + 4_000;

const directory = mkdtempSync(join(tmpdir(), "ad-seller-events-consumers-"));
const pgAvailable = await serviceAvailable("PostgreSQL", PG_URL);
const redisAvailable = await serviceAvailable("Redis", REDIS_URL);
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  rmSync(directory, { recursive: true, force: true });
});

interface StoreSetup {
  readonly base: Pick<ChildConfig, "store" | "location" | "namespace">;
  readonly storage: EventStorage;
}

const stores: { name: string; available: boolean; open: () => StoreSetup }[] = [
  {
    name: "sqlite file",
    available: true,
    open: () => {
      const location = join(directory, `${uniqueName("events")}.sqlite`);
      return {
        base: { store: "sqlite", location },
        storage: sqliteStorage({ database: openSqlite(location), closeDatabase: true }),
      };
    },
  },
  {
    name: "postgres",
    available: pgAvailable,
    open: () => {
      const table = uniqueName("consumers");
      const pool = createPool(PG_URL);
      cleanups.push(async () => {
        await pool.end();
        await dropTestObjects(PG_URL, { tables: [table, `${table}_consumers`, `${table}_dead_letters`] });
      });
      return {
        base: { store: "postgres", location: PG_URL, namespace: table },
        storage: postgresStorage({ pool, table }),
      };
    },
  },
  {
    name: "redis",
    available: redisAvailable,
    open: () => {
      const prefix = uniquePrefix("consumers");
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
      cleanups.push(async () => {
        await deleteStore(client, prefix);
        client.disconnect();
      });
      return {
        base: { store: "redis", location: REDIS_URL, namespace: prefix },
        storage: redisStorage({ client, prefix }),
      };
    },
  },
];

async function seeded(setup: StoreSetup): Promise<Event[]> {
  const bus = new EventBus({ storage: setup.storage });
  const inputs = Array.from({ length: EVENTS }, (_, index) => ({
    event_type: "deal.created" as const,
    deal_id: `d-${index}`,
  }));
  const events: Event[] = [];
  for (const input of inputs) events.push(await bus.emitEvent(input));
  return events;
}

/** Starts two instances of one consumer; resolves with [active, standby] once both run, then opens the gate. */
async function startPair(config: ChildConfig): Promise<[ConsumerChild, ConsumerChild]> {
  const children = [startConsumer(config), startConsumer(config)];
  await Promise.all(children.map((child) => child.until(() => true, "a first status")));
  const active = await Promise.race(
    children.map((child) => child.until((status) => status.state === "active", "active").then(() => child)),
  );
  const standby = children.find((child) => child !== active) as ConsumerChild;
  expect(standby.statuses.every((status) => status.state === "standby")).toBe(true);
  writeFileSync(config.gate as string, "");
  return [active, standby];
}

function kill(child: ConsumerChild, signal: NodeJS.Signals): void {
  child.process.kill(signal);
}

const ids = (events: readonly Event[]) => events.map((event) => event.event_id);

const handledIds = (lines: ReturnType<typeof readLog>) =>
  lines.filter((line) => line.kind === "end").flatMap((line) => line.ids);

for (const store of stores) {
  describe.skipIf(!store.available)(`consumer processes on ${store.name}`, () => {
    it("hands over to the standby after SIGKILL mid-batch: every event handled, at most one batch again, no overlap", async () => {
      const setup = store.open();
      const events = await seeded(setup);
      const log = join(directory, `${uniqueName("kill")}.log`);
      writeFileSync(log, "");
      const config: ChildConfig = {
        ...setup.base,
        name: "export",
        leaseMs: LEASE_MS,
        batchSize: BATCH,
        handlerMs: 50,
        log,
        gate: `${log}.go`,
      };
      const [a, b] = await startPair(config);
      const opened = Date.now();
      // Mid-batch, after A has worked for longer than its lease: it has to have renewed, and B must have waited.
      await untilLog(
        log,
        (lines) =>
          Date.now() - opened > LEASE_MS * 1.5 &&
          lines.filter((l) => l.kind === "end").length >= 3 &&
          lines.at(-1)?.kind === "start",
        "A mid-batch after more than its lease",
      );
      kill(a, "SIGKILL");
      expect(b.statuses.every((status) => status.state === "standby")).toBe(true);
      const killedAt = Date.now();
      await a.exited;
      appendFileSync(log, `killed ${a.pid} -\n`);
      await b.until((status) => status.state === "active", "active after the kill", TAKEOVER_BOUND_MS + 5_000);
      const takeoverMs = Date.now() - killedAt;
      await untilLog(log, (lines) => new Set(handledIds(lines)).size >= EVENTS, "every event handled");
      await b.until(
        (status) => status.lag === 0 && status.position === events.at(-1)?.event_id,
        "lag 0 at the last event",
      );
      kill(b, "SIGTERM");
      expect(await b.exited).toBe(0);

      const lines = readLog(log);
      const handled = handledIds(lines);
      expect(new Set(handled)).toEqual(new Set(events.map((event) => event.event_id)));
      const again = handled.length - new Set(handled).size;
      expect(again).toBeLessThanOrEqual(BATCH);
      expect(overlaps(lines)).toEqual([]);
      // Each process handled in append order (re-deliveries aside).
      const order = new Map(events.map((event, index) => [event.event_id, index]));
      for (const pid of [a.pid, b.pid]) {
        const mine = lines.filter((line) => line.kind === "end" && line.pid === pid).flatMap((line) => line.ids);
        const positions = mine.map((id) => order.get(id) as number);
        expect(positions).toEqual([...positions].sort((x, y) => x - y));
      }
      expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
      await setup.storage.close();
    }, 60_000);

    it("hands again, after SIGKILL, the one batch whose handler completed while its checkpoint write was in flight", async () => {
      const setup = store.open();
      const events = await seeded(setup);
      const order = new Map(events.map((event, index) => [event.event_id, index]));
      const log = join(directory, `${uniqueName("crash")}.log`);
      writeFileSync(log, "");
      const base = { ...setup.base, name: "export", leaseMs: LEASE_MS, batchSize: BATCH, log };
      // A's first three checkpoint writes land; the fourth hangs, as if A died with it in flight. A does not hand a
      // fifth batch to its handler before the fourth batch's write is durable.
      const a = startConsumer({ ...base, handlerMs: 20, holdWritesAfter: 3 });
      await untilLog(log, (lines) => lines.filter((l) => l.kind === "end").length >= 4, "A past its third write");
      kill(a, "SIGKILL");
      await a.exited;
      appendFileSync(log, `killed ${a.pid} -\n`);
      const doneByA = new Set(handledIds(readLog(log)));
      const durable = await setup.storage.checkpoints?.readCheckpoint("export");
      const at = durable === null || durable === undefined ? -1 : (order.get(durable) as number);
      // At least once: the durable checkpoint never passed an event whose handler had not completed.
      expect(events.slice(0, at + 1).every((event) => doneByA.has(event.event_id))).toBe(true);
      const handledNotWritten = events.slice(at + 1).filter((event) => doneByA.has(event.event_id));
      expect(handledNotWritten.length).toBeGreaterThan(0);
      expect(handledNotWritten.length).toBeLessThanOrEqual(BATCH);

      const b = startConsumer({ ...base, handlerMs: 0 });
      await b.until((status) => status.position === events.at(-1)?.event_id, "B at the last event");
      kill(b, "SIGTERM");
      expect(await b.exited).toBe(0);
      const byB = readLog(log)
        .filter((line) => line.kind === "end" && line.pid === b.pid)
        .flatMap((line) => line.ids);
      // B resumed right after the durable checkpoint: everything A handled past it is handled again.
      expect(byB).toEqual(ids(events.slice(at + 1)));
      await setup.storage.close();
    }, 60_000);

    it("refuses the checkpoint of a SIGSTOPped active whose lease a successor took, and never moves the position back", async () => {
      const setup = store.open();
      const events = await seeded(setup);
      const order = new Map(events.map((event, index) => [event.event_id, index]));
      const log = join(directory, `${uniqueName("stop")}.log`);
      writeFileSync(log, "");
      const config: ChildConfig = {
        ...setup.base,
        name: "export",
        leaseMs: LEASE_MS,
        batchSize: BATCH,
        handlerMs: 30,
        log,
        gate: `${log}.go`,
      };
      const checkpoints = setup.storage.checkpoints;
      if (checkpoints === undefined) throw new Error("no checkpoints");
      const positions: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const position = await checkpoints.readCheckpoint("export");
          if (position !== null) positions.push(order.get(position) as number);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      const [a, b] = await startPair(config);
      await untilLog(
        log,
        (lines) => lines.filter((l) => l.kind === "end").length >= 2 && lines.at(-1)?.kind === "start",
        "A mid-batch",
      );
      kill(a, "SIGSTOP");
      await b.until((status) => status.state === "active", "active while A is paused", TAKEOVER_BOUND_MS + 5_000);
      await untilLog(
        log,
        (lines) => lines.filter((l) => l.kind === "end" && l.pid === b.pid).length >= 3,
        "B handling",
      );
      const beforeResume = Math.max(...positions);
      kill(a, "SIGCONT");
      const stale = await a.until(
        (status) => status.state === "standby" && /store refused the checkpoint write/.test(status.last_error ?? ""),
        "standby after resuming",
      );
      await untilLog(log, (lines) => new Set(handledIds(lines)).size >= EVENTS, "every event handled");
      await b.until((status) => status.lag === 0 && status.position === events.at(-1)?.event_id, "B caught up");
      sampling = false;
      await sampler;
      // A read in flight when sampling stopped may predate B's last write: one more read after it.
      positions.push(order.get((await checkpoints.readCheckpoint("export")) as string) as number);
      kill(a, "SIGTERM");
      kill(b, "SIGTERM");
      await Promise.all([a.exited, b.exited]);

      expect(stale.last_error).toMatch(/store refused the checkpoint write/);
      // The checkpoint only ever moved forward, also across the resume of the stale instance.
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      expect(positions.at(-1)).toBe(EVENTS - 1);
      expect(Math.max(...positions)).toBeGreaterThanOrEqual(beforeResume);
      expect(new Set(handledIds(readLog(log)))).toEqual(new Set(events.map((event) => event.event_id)));
      await setup.storage.close();
    }, 60_000);
  });
}
