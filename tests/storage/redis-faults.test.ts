import { randomUUID } from "node:crypto";
import net from "node:net";
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type EmitEventInput, type Event, EventBus, StorageError } from "../../src/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { deleteStore, storedState, uniquePrefix } from "../fixtures/redis-store.js";
import { REDIS_URL, serviceAvailable } from "../support/services.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const available = await serviceAvailable("Redis", REDIS_URL);
const target = { host: new URL(REDIS_URL).hostname, port: Number(new URL(REDIS_URL).port || 6379) };
const SECRET = "s3cret-do-not-log-7f2a";

const clients: Redis[] = [];
const proxies: TcpProxy[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  if (!available) return;
  const admin = newClient();
  for (const prefix of prefixes) await deleteStore(admin, prefix);
  for (const client of clients) client.disconnect();
  for (const proxy of proxies) await proxy.close();
});

function newClient(options: RedisOptions = {}, port?: number): Redis {
  const client =
    port === undefined
      ? new Redis(REDIS_URL, { maxRetriesPerRequest: 0, ...options })
      : new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 0, ...options });
  clients.push(client);
  return client;
}

async function newProxy(): Promise<TcpProxy> {
  const proxy = await startTcpProxy(target);
  proxies.push(proxy);
  return proxy;
}

/** A bus over a fresh prefix through `client`. */
function openBus(client: Redis, timeoutMs?: number): { bus: EventBus; prefix: string } {
  const prefix = uniquePrefix("faults");
  prefixes.push(prefix);
  const storage = redisStorage({ client, prefix, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  return { bus: new EventBus({ storage }), prefix };
}

/** Emit input with its own id, so that the test can look the event up whatever the emit's outcome. */
function input(index: number): EmitEventInput & { event_id: string } {
  return {
    event_id: randomUUID(),
    event_type: "deal.registered",
    deal_id: `deal-${index % 3}`,
    session_id: "fault-session",
    payload: { index },
  };
}

/** The event an input becomes once stored (what storedState looks for). */
function expectedEvent(emit: EmitEventInput & { event_id: string }): Event {
  return {
    event_id: emit.event_id,
    event_type: emit.event_type,
    timestamp: "",
    flow_id: "",
    flow_type: "",
    proposal_id: "",
    deal_id: emit.deal_id ?? "",
    session_id: emit.session_id ?? "",
    payload: {},
    metadata: {},
  };
}

/** Emits until an emit succeeds; polling with a deadline, never asserting on time. */
async function emitUntilStored(bus: EventBus, deadlineMs = 20_000): Promise<Event> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await bus.emitEvent(input(0));
    } catch (error) {
      expect(error).toBeInstanceOf(StorageError);
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectRedisStorageError(error: unknown, operation: string): StorageError {
  expect(error).toBeInstanceOf(StorageError);
  const failure = error as StorageError;
  expect(failure.storage).toBe("redis");
  expect(failure.operation).toBe(operation);
  expect(failure.message).toMatch(/^\[ad-seller-events\] redis storage failed/);
  expect(failure.message).not.toContain(SECRET);
  expect(String((failure.cause as Error | undefined)?.message)).not.toContain(SECRET);
  return failure;
}

describe.skipIf(!available)("redisStorage when Redis fails", () => {
  it("rejects every call with a StorageError naming the server and the cause when Redis refuses connections", async () => {
    const port = await freePort();
    const client = newClient({ password: SECRET }, port);
    const { bus } = openBus(client);
    const emitted = expectRedisStorageError(await bus.emitEvent(input(1)).catch((error) => error), "append");
    expect(emitted.message).toContain("ECONNREFUSED");
    expect(emitted.message).toContain(`Redis at 127.0.0.1:${port}`);
    expectRedisStorageError(await bus.getEvent(randomUUID()).catch((error) => error), "get");
    expectRedisStorageError(await bus.listEvents().catch((error) => error), "list");
  });

  it("rejects with an unreachable StorageError, password-free, when the server is cut off at start", async () => {
    const proxy = await newProxy();
    proxy.cut();
    const client = new Redis(`redis://:${SECRET}@127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: 0 });
    clients.push(client);
    const { bus } = openBus(client);
    const error = expectRedisStorageError(await bus.emitEvent(input(1)).catch((caught) => caught), "append");
    expect(error.message).toMatch(/unreachable/);
    expect(error.message).toContain(`127.0.0.1:${proxy.port}`);
  });

  it("fails fast during an outage, stores nothing of the failed emits, and works again once Redis is back", async () => {
    const proxy = await newProxy();
    // A generous bound: the rejections below must come from the known outage, not from waiting it out.
    const { bus, prefix } = openBus(newClient({}, proxy.port), 60_000);
    const before = await bus.emitEvent(input(0));
    proxy.cut();
    const failed = Array.from({ length: 5 }, (_, index) => input(index));
    for (const emit of failed) {
      const error = expectRedisStorageError(await bus.emitEvent(emit).catch((caught) => caught), "append");
      expect(error.message).not.toMatch(/no reply/);
    }
    proxy.restore();
    await emitUntilStored(bus);
    const admin = newClient();
    for (const emit of failed) expect(await storedState(admin, prefix, expectedEvent(emit))).toBe("absent");
    // Safe retries: the same inputs, ids included, now go through.
    for (const emit of failed) await bus.emitEvent(emit);
    for (const emit of failed) expect(await storedState(admin, prefix, expectedEvent(emit))).toBe("whole");
    expect(await bus.getEvent(before.event_id)).toEqual(before);
  });

  it("rejects the emits in flight when the connection drops, leaving each one whole or absent", async () => {
    const proxy = await newProxy();
    const { bus, prefix } = openBus(newClient({}, proxy.port));
    await bus.emitEvent(input(0));
    const inputs = Array.from({ length: 30 }, (_, index) => input(index));
    const outcomes = inputs.map((emit) => bus.emitEvent(emit));
    proxy.dropConnections();
    const settled = await Promise.allSettled(outcomes);
    const rejected = settled.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason] : []));
    expect(rejected.length).toBeGreaterThan(0);
    for (const reason of rejected) {
      expect(expectRedisStorageError(reason, "append").message).toMatch(/dropped before it replied|unreachable/);
    }
    await emitUntilStored(bus);
    const admin = newClient();
    for (const [index, outcome] of settled.entries()) {
      const state = await storedState(
        admin,
        prefix,
        expectedEvent(inputs[index] as EmitEventInput & { event_id: string }),
      );
      expect(outcome.status === "fulfilled" ? ["whole"] : ["whole", "absent"]).toContain(state);
    }
    // Safe retries with the same ids converge: every input stored once, whole.
    for (const emit of inputs) await bus.emitEvent(emit);
    for (const emit of inputs) expect(await storedState(admin, prefix, expectedEvent(emit))).toBe("whole");
  });

  it("lets a default ioredis client re-send the emits in flight after a dropped connection, so they succeed", async () => {
    const proxy = await newProxy();
    const client = new Redis({ host: "127.0.0.1", port: proxy.port }); // ioredis defaults: maxRetriesPerRequest 20
    clients.push(client);
    const { bus, prefix } = openBus(client, 60_000);
    await bus.emitEvent(input(0));
    const inputs = Array.from({ length: 30 }, (_, index) => input(index));
    const outcomes = inputs.map((emit) => bus.emitEvent(emit));
    proxy.dropConnections();
    const stored = await Promise.all(outcomes);
    expect(stored.map((event) => event.event_id)).toEqual(inputs.map((emit) => emit.event_id));
    const admin = newClient();
    for (const event of stored) expect(await storedState(admin, prefix, event)).toBe("whole");
  });

  it("recovers when Redis kills the adapter's connection (CLIENT KILL)", async () => {
    const client = newClient();
    const { bus, prefix } = openBus(client);
    const first = await bus.emitEvent(input(0));
    const killedId = await client.client("ID");
    await newClient().client("KILL", "ID", String(killedId));
    const after = await emitUntilStored(bus);
    expect(await client.client("ID")).not.toBe(killedId);
    const admin = newClient();
    expect(await storedState(admin, prefix, first)).toBe("whole");
    expect(await storedState(admin, prefix, after)).toBe("whole");
    expect(await bus.getEvent(first.event_id)).toEqual(first);
  });

  it("bounds every call by timeoutMs when the server accepts connections but never answers", async () => {
    const silent = net.createServer((socket) => socket.on("data", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const handshaking = openBus(newClient({}, port), 200).bus;
      const stuck = expectRedisStorageError(await handshaking.emitEvent(input(1)).catch((error) => error), "append");
      expect(stuck.message).toContain("no reply from Redis within 200 ms");
      // Without the ready check the client reports "ready" at once, so the command itself is sent and never answered.
      const ready = openBus(newClient({ enableReadyCheck: false }, port), 200).bus;
      const unanswered = expectRedisStorageError(await ready.listEvents().catch((error) => error), "list");
      expect(unanswered.message).toContain("no reply from Redis within 200 ms");
    } finally {
      for (const client of clients.filter((each) => each.options.port === port)) client.disconnect();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("keeps appending after Redis forgets its scripts (restart or failover): EVALSHA falls back to EVAL", async () => {
    const { bus, prefix } = openBus(newClient());
    await bus.emitEvent(input(0));
    // Safe for parallel test files: every ioredis script call falls back to EVAL on NOSCRIPT the same way.
    await newClient().script("FLUSH");
    const event = await bus.emitEvent(input(1));
    expect(await storedState(newClient(), prefix, event)).toBe("whole");
    expect(await bus.listEvents({ session_id: "fault-session" })).toHaveLength(2);
  });
});
