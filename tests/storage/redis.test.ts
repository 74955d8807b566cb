import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError, StorageError } from "../../src/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { REDIS_INDEXED_FIELDS, redisKeyLayout } from "../../src/storage/redis/redis-schema.js";
import type { EventStorage } from "../../src/storage/types.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import { deleteStore, storedState, uniquePrefix } from "../fixtures/redis-store.js";
import { startPrivateRedis } from "../support/private-redis.js";
import { REDIS_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("Redis", REDIS_URL);
// MONITOR sees every client of a server: the tests that read it run on a redis-server of their own, so the traffic of
// other test files neither floods the monitor nor shows up in what it saw.
const monitored = available ? await startPrivateRedis() : undefined;
const monitoredUrl = () => monitored?.url ?? REDIS_URL;

const clients: Redis[] = [];
const prefixes = new Set<string>();
const prefixOf = new WeakMap<EventStorage, string>();

function newClient(url = REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

function openStore(prefix = uniquePrefix("redis"), url = REDIS_URL): EventStorage {
  prefixes.add(prefix);
  const storage = redisStorage({ client: newClient(url), prefix, closeClient: true });
  prefixOf.set(storage, prefix);
  return storage;
}

afterAll(async () => {
  if (!available) return;
  const admin = newClient();
  for (const prefix of prefixes) await deleteStore(admin, prefix);
  for (const client of clients) client.disconnect();
  await monitored?.stop();
});

interface MonitoredCommand {
  readonly name: string;
  readonly args: string[];
  readonly source: string;
}

/** Records every command Redis executes while `body` runs, via MONITOR on a second connection. */
async function monitorWhile(body: (sentinel: () => Promise<void>) => Promise<void>): Promise<MonitoredCommand[]> {
  const seen: MonitoredCommand[] = [];
  const monitor = await newClient(monitoredUrl()).monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    seen.push({ name: String(args[0]).toLowerCase(), args: args.slice(1).map(String), source });
  });
  const mark = `sentinel-${randomUUID()}`;
  const probe = newClient(monitoredUrl());
  // MONITOR output arrives asynchronously: a command sent after the body, once seen, means the body's were too.
  const sentinel = async () => {
    await probe.echo(mark);
    const deadline = Date.now() + 10_000;
    while (!seen.some((command) => command.args.includes(mark))) {
      if (Date.now() > deadline) throw new Error("MONITOR never showed the sentinel command");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  try {
    await body(sentinel);
    await sentinel();
  } finally {
    monitor.disconnect();
  }
  return seen;
}

const touches = (prefix: string) => (command: MonitoredCommand) => command.args.some((arg) => arg.startsWith(prefix));

describe.skipIf(!available)("redisStorage", () => {
  describeStorageConformance({
    name: "redis",
    checkpoints: true,
    webhooks: true,
    createStorage: () => openStore(),
    reopen: (closed) => openStore(prefixOf.get(closed)),
    watch: true,
    peer: (storage) => openStore(prefixOf.get(storage)),
    prune: true,
    describe,
    it,
    expect,
  });

  describe("record format", () => {
    it("stores each event under {prefix}event:{event_id} as exactly JSON.stringify of the event", async () => {
      const prefix = uniquePrefix("wire");
      const storage = openStore(prefix);
      const bus = new EventBus({ storage });
      const event = await bus.emitEvent({
        event_type: "proposal.countered",
        proposal_id: "p-7",
        session_id: "s-1",
        payload: { counter_cpm: 11.5, note: "€ für 🚀", tiers: [[1, 2], [3]], big: 9007199254740991 },
        metadata: { agent: "seller-7" },
      });
      const raw = await newClient().get(`${prefix}event:${event.event_id}`);
      expect(raw).toBe(JSON.stringify(event));
      expect(Object.keys(JSON.parse(raw as string))).toEqual([
        "event_id",
        "event_type",
        "timestamp",
        "flow_id",
        "flow_type",
        "proposal_id",
        "deal_id",
        "session_id",
        "payload",
        "metadata",
      ]);
      await storage.close();
    });

    it("writes records that Python's json.loads reads back with the same fields and values", async () => {
      const prefix = uniquePrefix("python");
      const storage = openStore(prefix);
      const bus = new EventBus({ storage });
      const event = await bus.emitEvent({
        event_type: "deal.created",
        deal_id: "d-1",
        flow_id: "flow-ä",
        payload: { cpm: 12.5, label: "naïve ☕", nested: { list: [1, "two", null, true] } },
      });
      const read = readWithPython(`${prefix}event:${event.event_id}`);
      expect(read.keys).toEqual(Object.keys(event));
      expect(read.event).toEqual(event);
      await storage.close();
    });

    it("reads a record the Python service wrote (naive timestamp, spaces, no indexes) normalised to UTC Z", async () => {
      const prefix = uniquePrefix("from-python");
      const storage = openStore(prefix);
      const id = randomUUID();
      const pythonJson =
        `{"event_id": "${id}", "event_type": "deal.synced", "timestamp": "2026-11-24T10:15:30.123456", ` +
        `"flow_id": "flow-1", "flow_type": "", "proposal_id": "", "deal_id": "d-9", "session_id": "", ` +
        `"payload": {"ad_server": "gam"}, "metadata": {}}`;
      await newClient().set(`${prefix}event:${id}`, pythonJson);
      const bus = new EventBus({ storage });
      const event = (await bus.getEvent(id)) as Event;
      expect(event).toEqual({
        event_id: id,
        event_type: "deal.synced",
        timestamp: "2026-11-24T10:15:30.123Z",
        flow_id: "flow-1",
        flow_type: "",
        proposal_id: "",
        deal_id: "d-9",
        session_id: "",
        payload: { ad_server: "gam" },
        metadata: {},
      });
      expect(Object.isFrozen(event) && Object.isFrozen(event.payload)).toBe(true);
      // Python wrote no index entries: the record is readable by id but not listed.
      expect(await bus.listEvents({ deal_id: "d-9" })).toEqual([]);
      await storage.close();
    });

    it("reads records under the ad_seller: prefix when no prefix is given", async () => {
      const id = randomUUID();
      const admin = newClient();
      const storage = redisStorage({ client: newClient() });
      const json = JSON.stringify({ event_id: id, event_type: "session.created", timestamp: "2026-01-02T03:04:05Z" });
      // Only this one record key is touched: the shared default-prefix indexes of a developer's Redis are left alone.
      await admin.set(`ad_seller:event:${id}`, json);
      try {
        expect((await storage.get(id))?.timestamp).toBe("2026-01-02T03:04:05.000Z");
        expect(redisKeyLayout().event(id)).toBe(`ad_seller:event:${id}`);
      } finally {
        await admin.del(`ad_seller:event:${id}`);
        await storage.close();
      }
    });

    it("rejects a record that is not an event with a StorageError naming its key", async () => {
      const prefix = uniquePrefix("corrupt");
      const storage = openStore(prefix);
      const id = randomUUID();
      await newClient().set(`${prefix}event:${id}`, `{"event_id": "${id}", "event_type": "deal.imagined"}`);
      const error = await new EventBus({ storage }).getEvent(id).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain(`${prefix}event:${id}`);
      expect((error as Error).message).toContain("event_type");
      await storage.close();
    });
  });

  describe("atomicity", () => {
    it("gives every index entry its record and every record all its index entries, numbered 1..n", async () => {
      const prefix = uniquePrefix("atomic");
      const storage = openStore(prefix);
      const bus = new EventBus({ storage });
      const events = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          bus.emitEvent({
            event_type: index % 2 === 0 ? "negotiation.round" : "proposal.evaluated",
            flow_id: `flow-${index % 3}`,
            session_id: `session-${index % 7}`,
            deal_id: index % 5 === 0 ? "" : `deal-${index % 4}`,
          }),
        ),
      );
      const admin = newClient();
      const states = await Promise.all(events.map((event) => storedState(admin, prefix, event)));
      expect(new Set(states)).toEqual(new Set(["whole"]));
      const keys = redisKeyLayout(prefix);
      const log = await admin.zrange(keys.log, 0, -1, "WITHSCORES");
      const scores = log.filter((_, index) => index % 2 === 1).map(Number);
      expect(scores).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
      expect(await admin.get(keys.sequence)).toBe("200");
      const indexMembers = await Promise.all(
        ["flow-0", "flow-1", "flow-2"].map((flow) => admin.zrange(keys.index("flow_id", flow), 0, -1)),
      );
      const records = await admin.mget(indexMembers.flat().map((id) => keys.event(id)));
      expect(records.filter((record) => record === null)).toEqual([]);
      expect(indexMembers.flat()).toHaveLength(200);
      await storage.close();
    });

    it("writes nothing of a batch when the script fails on any of its events", async () => {
      const prefix = uniquePrefix("half");
      const storage = openStore(prefix);
      const keys = redisKeyLayout(prefix);
      const admin = newClient();
      await admin.set(keys.index("deal_id", "poisoned"), "not a sorted set");
      await storage.append([freezeEvent({ deal_id: "fine" })]);
      const healthy = freezeEvent({ deal_id: "fine" });
      const poisoned = freezeEvent({ deal_id: "poisoned" });
      const error = await storage.append([healthy, poisoned]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toMatch(/WRONGTYPE.*poisoned/);
      expect(await storedState(admin, prefix, healthy)).toBe("absent");
      expect(await admin.get(keys.event(poisoned.event_id))).toBeNull();
      expect(await admin.zcard(keys.log)).toBe(1);
      expect(await admin.get(keys.sequence)).toBe("1");
      await storage.close();
    });

    it("sends every write inside a Lua script, never as a separate client command", async () => {
      const prefix = uniquePrefix("lua");
      const storage = openStore(prefix, monitoredUrl());
      const bus = new EventBus({ storage });
      await bus.emitEvent({ event_type: "session.created", session_id: "warm-up" });
      const seen = await monitorWhile(async () => {
        await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            bus.emitEvent({ event_type: "deal.registered", deal_id: `d-${index}`, session_id: "s" }),
          ),
        );
      });
      const ours = seen.filter(touches(prefix));
      const writes = ours.filter((command) => ["set", "zadd", "incrby", "incr"].includes(command.name));
      // Per event: SET record, INCRBY, ZADD log, ZADD time, ZADD for event_type, deal_id and session_id.
      expect(writes.length).toBe(20 * 7);
      expect(writes.filter((command) => command.source !== "lua")).toEqual([]);
      await storage.close();
    });
  });

  describe("reads", () => {
    it("drives a narrow since/until through the time index, and falls back when it does not cover the store", async () => {
      const prefix = uniquePrefix("time");
      const storage = openStore(prefix, monitoredUrl());
      const bus = new EventBus({ storage });
      const events: Event[] = [];
      for (let index = 0; index < 300; index++) {
        const timestamp = new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString();
        events.push(await bus.emitEvent({ event_type: "negotiation.round", flow_type: "common", timestamp }));
      }
      // Appended last but stamped early: a time range must still find it, in append order.
      const late = await bus.emitEvent({
        event_type: "deal.created",
        flow_type: "common",
        timestamp: "2026-01-01T00:00:05.500Z",
      });
      const query = { flow_type: "common", since: "2026-01-01T00:00:04.000Z", until: "2026-01-01T00:00:08.000Z" };
      const expected = [...events.slice(4, 8), late].map((event) => event.event_id);
      const seen = await monitorWhile(async () => {
        expect((await bus.listEvents(query)).map((event) => event.event_id)).toEqual(expected);
      });
      const ours = seen.filter(touches(prefix));
      expect(
        ours.some((command) => command.name === "zrangebyscore" && command.args[0] === `${prefix}eventlog:time`),
      ).toBe(true);
      // Only the records of the range are fetched, not the 300 of the flow type.
      const fetched = ours.filter((command) => command.name === "mget").flatMap((command) => command.args);
      expect(fetched.length).toBeLessThan(20);
      expect((await bus.listEvents({ ...query, after: events[5]?.event_id })).map((event) => event.event_id)).toEqual(
        expected.slice(2),
      );
      // A store from before the time index existed: the index does not cover it, so the read walks as before.
      const admin = newClient(monitoredUrl());
      await admin.del(`${prefix}eventlog:time:from`);
      await admin.zrem(`${prefix}eventlog:time`, events[6]?.event_id as string);
      await bus.emitEvent({ event_type: "session.created", timestamp: "2027-01-01T00:00:00.000Z" });
      expect((await bus.listEvents(query)).map((event) => event.event_id)).toEqual(expected);
      await storage.close();
    });

    it("never sends KEYS or SCAN, whatever the query", async () => {
      const prefix = uniquePrefix("nokeys");
      const storage = openStore(prefix, monitoredUrl());
      const bus = new EventBus({ storage });
      const seen = await monitorWhile(async () => {
        const first = await bus.emitEvent({ event_type: "deal.created", deal_id: "d", session_id: "s" });
        await bus.emitEvent({ event_type: "deal.synced", deal_id: "d", flow_id: "f" });
        await bus.getEvent(first.event_id);
        await bus.listEvents();
        await bus.listEvents({ deal_id: "d" });
        await bus.listEvents({ deal_id: "d", session_id: "s", event_type: ["deal.created", "deal.synced"] });
        await bus.listEvents({ event_type: ["deal.created", "deal.synced"], since: "2000-01-01", until: "2100-01-01" });
        await bus.listEvents({ after: first.event_id });
        await bus.listEvents({ before: first.event_id, flow_id: "f" });
      });
      const ours = seen.filter(touches(prefix));
      expect(ours.some((command) => command.name === "zrevrangebyscore" && command.source === "lua")).toBe(true);
      expect(ours.some((command) => command.name === "mget")).toBe(true);
      expect(
        seen.filter((command) => /^(keys|scan|sscan|hscan|zscan)$/.test(command.name) && touches(prefix)(command)),
      ).toEqual([]);
      await storage.close();
    });

    it("reads limit + 1 index entries and records for a single-filter page, however many events exist", async () => {
      const prefix = uniquePrefix("olimit");
      const storage = openStore(prefix, monitoredUrl());
      const bus = new EventBus({ storage });
      const flow = Array.from({ length: 300 }, (_, index) =>
        freezeEvent({ flow_id: index % 3 === 0 ? "target" : "other" }),
      );
      await storage.append(flow);
      const seen = await monitorWhile(async () => {
        await bus.listEvents({ flow_id: "target", limit: 10 });
      });
      const ranges = seen.filter((command) => command.name === "zrevrangebyscore" && touches(prefix)(command));
      expect(ranges.map((command) => command.args)).toEqual([
        [`${prefix}eventlog:flow_id:target`, "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "11"],
      ]);
      const mgets = seen.filter((command) => command.name === "mget" && touches(prefix)(command));
      expect(mgets.map((command) => command.args.length)).toEqual([11]);
      await storage.close();
    });
  });

  describe("page reads", () => {
    it("reads a page's index range and its records in one round trip, skipping records deleted by hand", async () => {
      const prefix = uniquePrefix("onetrip");
      const storage = openStore(prefix, monitoredUrl());
      const bus = new EventBus({ storage });
      const events = Array.from({ length: 6 }, () => freezeEvent({ flow_id: "f" }));
      await storage.append(events);
      const admin = newClient(monitoredUrl());
      // Retention by hand: the records go, their index entries stay. The first chunk (limit + 1 entries) then holds
      // too few records, and the read must go on past the last entry it read.
      await admin.del(`${prefix}event:${events[4]?.event_id}`, `${prefix}event:${events[3]?.event_id}`);
      await bus.listEvents({ limit: 1 }); // Redis learns the script (EVAL_RO once)
      let page: Awaited<ReturnType<typeof bus.listEventsJsonPage>> | undefined;
      const seen = await monitorWhile(async () => {
        page = await bus.listEventsJsonPage({ limit: 3 });
      });
      expect(page?.json).toEqual([events[1], events[2], events[5]].map((event) => JSON.stringify(event)));
      expect(page?.has_more).toBe(true);
      const fromClient = seen.filter((command) => command.source !== "lua" && touches(prefix)(command));
      expect(fromClient.map((command) => command.name)).toEqual(["evalsha_ro", "evalsha_ro"]);
      const inScript = seen.filter((command) => command.source === "lua" && touches(prefix)(command));
      expect(inScript.map((command) => command.name)).toEqual(["zrevrangebyscore", "mget", "zrevrangebyscore", "mget"]);
      await storage.close();
    });

    it.each([
      ["empty", ""],
      ["holding the separator of the joined reply", '{"a":"\u001e"}'],
    ])("fails a page holding a record that is %s with a StorageError naming its key", async (_, record) => {
      const prefix = uniquePrefix("broken");
      const storage = openStore(prefix);
      const bus = new EventBus({ storage });
      const [first] = await storage.append([freezeEvent({}), freezeEvent({})]).then(() => bus.listEvents());
      await newClient().set(`${prefix}event:${first?.event_id}`, record);
      for (const read of [() => bus.listEvents(), () => bus.listEventsJsonPage()]) {
        const error = await read().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as Error).message).toContain(`${prefix}event:${first?.event_id}`);
      }
      await storage.close();
    });
  });

  describe("client ownership and options", () => {
    it("leaves the caller's client open on close unless closeClient is true", async () => {
      const kept = newClient();
      await redisStorage({ client: kept, prefix: uniquePrefix("own") }).close();
      expect(await kept.ping()).toBe("PONG");
      const handedOver = newClient();
      await handedOver.ping();
      await redisStorage({ client: handedOver, prefix: uniquePrefix("own"), closeClient: true }).close();
      expect(handedOver.status).toBe("end");
    });

    it("rejects a missing client and a bad timeoutMs with EventValidationError", () => {
      expect(() => redisStorage({ client: {} as Redis })).toThrow(EventValidationError);
      expect(() => redisStorage({ client: newClient(), timeoutMs: 0 })).toThrow(/timeoutMs/);
    });

    it("exposes the key layout it writes to", async () => {
      const prefix = uniquePrefix("layout");
      const storage = openStore(prefix);
      const event = freezeEvent({ flow_id: "f", deal_id: "d" });
      await storage.append([event]);
      const keys = redisKeyLayout(prefix);
      const admin = newClient();
      expect(await admin.type(keys.event(event.event_id))).toBe("string");
      expect(await admin.type(keys.log)).toBe("zset");
      expect(await admin.get(keys.sequence)).toBe("1");
      for (const field of REDIS_INDEXED_FIELDS.filter((name) => event[name] !== "")) {
        expect(await admin.zscore(keys.index(field, event[field]), event.event_id)).toBe("1");
      }
      await storage.close();
    });
  });
});

let clock = Date.parse("2026-03-01T00:00:00.000Z");

/** A frozen event for appending to storage directly. */
function freezeEvent(fields: Partial<Event>): Event {
  clock += 1000;
  return Object.freeze({
    event_id: randomUUID(),
    event_type: "deal.created",
    timestamp: new Date(clock).toISOString(),
    flow_id: "",
    flow_type: "",
    proposal_id: "",
    deal_id: "",
    session_id: "",
    payload: Object.freeze({}),
    metadata: Object.freeze({}),
    ...fields,
  });
}

/** Reads a key with a few lines of Python speaking RESP over a socket (no pip packages), then json.loads it. */
function readWithPython(key: string): { keys: string[]; event: unknown } {
  const { hostname, port } = new URL(REDIS_URL);
  const script = `
import json, socket, sys
host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
sock = socket.create_connection((host, port))
sock.sendall(b"*2\\r\\n$3\\r\\nGET\\r\\n$%d\\r\\n%s\\r\\n" % (len(key), key))
reply = b""
while b"\\r\\n" not in reply:
    reply += sock.recv(65536)
header, _, body = reply.partition(b"\\r\\n")
length = int(header[1:])
while len(body) < length + 2:
    body += sock.recv(65536)
event = json.loads(body[:length].decode("utf-8"))
print(json.dumps({"keys": list(event.keys()), "event": event}))
`;
  const result = spawnSync("python3", ["-c", script, hostname, port || "6379", key], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr || result.error?.message}`);
  return JSON.parse(result.stdout) as { keys: string[]; event: unknown };
}
