import { describe, expect, it, vi } from "vitest";
import {
  type Event,
  EventBus,
  EventBusError,
  EventConflictError,
  type EventStorage,
  EventType,
  EventValidationError,
  memoryStorage,
  StorageError,
} from "../../src/index.js";

function failingStorage(cause: Error): EventStorage {
  return {
    name: "flaky",
    append: () => Promise.reject(cause),
    get: () => Promise.reject(cause),
    list: () => Promise.reject(cause),
    close: () => Promise.resolve(),
  };
}

describe("emitEvent", () => {
  it("stamps a UUID and a UTC millisecond timestamp from the bus clock, filling defaults", async () => {
    const bus = new EventBus({ now: () => new Date("2026-11-24T10:15:30.123Z") });
    const event = await bus.emitEvent({ event_type: EventType.SESSION_CREATED });
    expect(event).toEqual({
      event_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      event_type: "session.created",
      timestamp: "2026-11-24T10:15:30.123Z",
      flow_id: "",
      flow_type: "",
      proposal_id: "",
      deal_id: "",
      session_id: "",
      payload: {},
      metadata: {},
    });
    expect(Object.keys(event)).toEqual([
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
  });

  it("keeps a caller's event_id and timestamp, normalising naive and offset times to UTC Z", async () => {
    const bus = new EventBus();
    const id = crypto.randomUUID();
    const naive = await bus.emitEvent({
      event_type: "deal.created",
      event_id: id,
      timestamp: "2026-11-24T10:15:30.123456",
    });
    expect(naive.event_id).toBe(id);
    expect(naive.timestamp).toBe("2026-11-24T10:15:30.123Z");
    const offset = await bus.emitEvent({ event_type: "deal.created", timestamp: "2026-11-24T12:15:30+02:00" });
    expect(offset.timestamp).toBe("2026-11-24T10:15:30.000Z");
    const date = await bus.emitEvent({ event_type: "deal.created", timestamp: new Date(Date.UTC(2026, 0, 2)) });
    expect(date.timestamp).toBe("2026-01-02T00:00:00.000Z");
  });

  it("lowercases a caller's event_id so that ids compare canonically", async () => {
    const bus = new EventBus();
    const id = crypto.randomUUID();
    const event = await bus.emitEvent({ event_type: "deal.created", event_id: id.toUpperCase() });
    expect(event.event_id).toBe(id);
    expect(await bus.getEvent(id.toUpperCase())).toBe(event);
  });

  it("deeply freezes the event it returns", async () => {
    const bus = new EventBus();
    const event = await bus.emitEvent({ event_type: "deal.created", payload: { lines: [{ cpm: 1 }] } });
    expect(Object.isFrozen(event)).toBe(true);
    expect(Object.isFrozen(event.payload)).toBe(true);
    expect(Object.isFrozen(event.payload.lines)).toBe(true);
    expect(() => {
      (event.payload as Record<string, unknown>).injected = true;
    }).toThrow(TypeError);
  });

  it("copies the caller's payload and metadata: never freezes, keeps or mutates them", async () => {
    const bus = new EventBus();
    const payload = { lines: [{ cpm: 1 }] };
    const metadata = { agent: "a" };
    const event = await bus.emitEvent({ event_type: "deal.created", payload, metadata });
    expect(Object.isFrozen(payload)).toBe(false);
    expect(Object.isFrozen(payload.lines[0])).toBe(false);
    payload.lines[0] = { cpm: 99 };
    metadata.agent = "changed";
    expect(event.payload).toEqual({ lines: [{ cpm: 1 }] });
    expect((await bus.getEvent(event.event_id))?.metadata).toEqual({ agent: "a" });
  });

  it("rejects with StorageError carrying the cause and store name, and notifies no subscriber", async () => {
    const cause = new Error("connection refused");
    const bus = new EventBus({ storage: failingStorage(cause) });
    const listener = vi.fn();
    bus.subscribe("*", listener);
    const error = await bus.emitEvent({ event_type: "deal.created" }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toBeInstanceOf(EventBusError);
    expect((error as StorageError).cause).toBe(cause);
    expect((error as StorageError).storage).toBe("flaky");
    expect((error as StorageError).message).toContain("flaky storage failed during append: connection refused");
    expect(listener).not.toHaveBeenCalled();
    await expect(bus.listEvents()).rejects.toBeInstanceOf(StorageError);
    await expect(bus.getEvent(crypto.randomUUID())).rejects.toBeInstanceOf(StorageError);
  });

  it("never puts a password from a driver message into a StorageError", async () => {
    const bus = new EventBus({
      storage: failingStorage(new Error("cannot reach postgres://seller:hunter2@db:5432/x")),
    });
    const error = (await bus.emitEvent({ event_type: "deal.created" }).catch((failure: unknown) => failure)) as Error;
    expect(error.message).not.toContain("hunter2");
    expect(error.message).toContain("postgres://seller:***@db:5432/x");
  });

  it("uses an injected id generator and refuses one that returns non-UUIDs", async () => {
    const fixed = "11111111-1111-4111-8111-111111111111";
    expect((await new EventBus({ generateId: () => fixed }).emitEvent({ event_type: "deal.created" })).event_id).toBe(
      fixed,
    );
    const broken = new EventBus({ generateId: () => "id-1" });
    await expect(broken.emitEvent({ event_type: "deal.created" })).rejects.toThrow(/generateId\(\) must return a UUID/);
  });
});

describe("subscribe", () => {
  async function emitAll(bus: EventBus, types: readonly EventType[]): Promise<void> {
    for (const event_type of types) await bus.emitEvent({ event_type });
  }

  it("delivers by exact type, by group and to everything, in emit order, after storing", async () => {
    const bus = new EventBus();
    const seen: Record<string, string[]> = { exact: [], group: [], all: [] };
    bus.subscribe("deal.created", (event) => void seen.exact?.push(event.event_type));
    bus.subscribe("deal.*", (event) => void seen.group?.push(event.event_type));
    bus.subscribe("*", async (event) => {
      expect(await bus.getEvent(event.event_id)).toBe(event);
      seen.all?.push(event.event_type);
    });
    await emitAll(bus, ["proposal.received", "deal.created", "deal.synced", "session.closed"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual({
      exact: ["deal.created"],
      group: ["deal.created", "deal.synced"],
      all: ["proposal.received", "deal.created", "deal.synced", "session.closed"],
    });
  });

  it("stops delivering after unsubscribe or an aborted signal", async () => {
    const bus = new EventBus();
    const byFunction = vi.fn();
    const bySignal = vi.fn();
    const controller = new AbortController();
    const unsubscribe = bus.subscribe("*", byFunction);
    bus.subscribe("*", bySignal, { signal: controller.signal });
    await bus.emitEvent({ event_type: "deal.created" });
    unsubscribe();
    controller.abort();
    await bus.emitEvent({ event_type: "deal.created" });
    expect(byFunction).toHaveBeenCalledTimes(1);
    expect(bySignal).toHaveBeenCalledTimes(1);
    const neverCalled = vi.fn();
    bus.subscribe("*", neverCalled, { signal: AbortSignal.abort() });
    await bus.emitEvent({ event_type: "deal.created" });
    expect(neverCalled).not.toHaveBeenCalled();
  });

  it("isolates a throwing or rejecting listener: the emit succeeds, others still run, the error is reported", async () => {
    const reported: [unknown, Event][] = [];
    const bus = new EventBus({ onListenerError: (error, event) => reported.push([error, event]) });
    const thrown = new Error("sync boom");
    const rejected = new Error("async boom");
    const after = vi.fn();
    bus.subscribe("*", () => {
      throw thrown;
    });
    bus.subscribe("*", () => Promise.reject(rejected));
    bus.subscribe("*", after);
    const event = await bus.emitEvent({ event_type: "deal.created" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(after).toHaveBeenCalledWith(event);
    expect(reported).toEqual([
      [thrown, event],
      [rejected, event],
    ]);
  });

  it("rejects unknown patterns with the closest one or the forms allowed", () => {
    const bus = new EventBus();
    expect(() => bus.subscribe("deals.*" as never, () => {})).toThrow(EventValidationError);
    expect(() => bus.subscribe("deal.create" as never, () => {})).toThrow(/did you mean "deal\.created"/);
    expect(() => bus.subscribe("zzz" as never, () => {})).toThrow(/"deal\.\*"/);
    expect(() => bus.subscribe("*", "not a function" as never)).toThrow(/listener/);
  });

  it("does not notify again when an id is retried with the same content", async () => {
    const bus = new EventBus();
    const listener = vi.fn();
    bus.subscribe("*", listener);
    const event_id = crypto.randomUUID();
    await bus.emitEvent({ event_id, event_type: "deal.created" });
    await bus.emitEvent({ event_id, event_type: "deal.created" });
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe("emitEvent retries of a caller's event_id", () => {
  const original = {
    event_type: "deal.synced",
    timestamp: "2026-11-24T10:15:30.123Z",
    flow_id: "f-1",
    flow_type: "deal_sync",
    proposal_id: "p-1",
    deal_id: "d-1",
    session_id: "s-1",
    payload: { ad_server: "gam", lines: [{ id: 1, cpm: 12.5 }] },
    metadata: { agent: "seller-7", tags: ["x"] },
  } as const;

  /** A store that already holds `stored` under every id: what an adapter reports for a taken id. */
  function storeHolding(stored: Event): EventStorage {
    return {
      name: "holding",
      append: (events) => Promise.resolve(events.map(() => stored)),
      get: () => Promise.resolve(stored),
      list: () => Promise.resolve([stored]),
      close: () => Promise.resolve(),
    };
  }

  const cases: [string, Record<string, unknown>][] = [
    ["event_type", { event_type: "deal.created" }],
    ["timestamp", { timestamp: "2026-11-24T10:15:30.124Z" }],
    ["flow_id", { flow_id: "f-2" }],
    ["flow_type", { flow_type: "other" }],
    ["proposal_id", { proposal_id: "p-2" }],
    ["deal_id", { deal_id: "d-2" }],
    ["session_id", { session_id: "" }],
    ["payload", { payload: { ad_server: "gam", lines: [{ id: 1, cpm: 12.6 }] } }],
    ["payload", { payload: {} }],
    ["metadata", { metadata: { agent: "seller-7", tags: ["x", "y"] } }],
    ["metadata", { metadata: {} }],
  ];

  it.each(cases)(
    "rejects a retry differing only in %s, naming that field, and notifies nobody",
    async (field, change) => {
      const event_id = crypto.randomUUID();
      const stored = await new EventBus().emitEvent({ ...original, event_id });
      const bus = new EventBus({ storage: storeHolding(stored) });
      const listener = vi.fn();
      bus.subscribe("*", listener);
      const retry = bus.emitEvent({ ...original, event_id, ...change } as never);
      await expect(retry).rejects.toBeInstanceOf(EventConflictError);
      await expect(retry).rejects.toMatchObject({ eventId: event_id, differingFields: [field] });
      expect(listener).not.toHaveBeenCalled();
    },
  );

  it("returns the stored event for the same content with keys in another order, or without a timestamp", async () => {
    const event_id = crypto.randomUUID();
    const stored = await new EventBus().emitEvent({ ...original, event_id });
    const bus = new EventBus({ storage: storeHolding(stored), now: () => new Date("2030-01-01T00:00:00Z") });
    const payload = { lines: [{ cpm: 12.5, id: 1 }], ad_server: "gam" };
    expect(await bus.emitEvent({ ...original, event_id, payload })).toBe(stored);
    const { timestamp: _given, ...untimed } = original;
    expect(await bus.emitEvent({ ...untimed, event_id })).toBe(stored);
  });
});

describe("scope", () => {
  it("binds correlation fields, generates a flow_id, and lets call fields override", async () => {
    const bus = new EventBus();
    const flow = bus.scope({ flow_type: "proposal_handling", session_id: "s-1" });
    expect(flow.context.flow_id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    const received = await flow.emitEvent({ event_type: "proposal.received", proposal_id: "p-1" });
    expect(received).toMatchObject({
      flow_id: flow.context.flow_id,
      flow_type: "proposal_handling",
      session_id: "s-1",
    });
    const overridden = await flow.emitEvent({ event_type: "proposal.received", session_id: "s-2" });
    expect(overridden.session_id).toBe("s-2");
    const deal = flow.scope({ deal_id: "d-1" });
    const created = await deal.emitEvent({ event_type: "deal.created" });
    expect(created).toMatchObject({ flow_id: flow.context.flow_id, session_id: "s-1", deal_id: "d-1" });
    expect(bus.scope().context.flow_id).not.toBe(bus.scope().context.flow_id);
  });

  it("validates the context eagerly", () => {
    const bus = new EventBus();
    expect(() => bus.scope({ flow_id: 3 } as never)).toThrow(/flow_id/);
    expect(() => bus.scope({ sessionId: "x" } as never)).toThrow(/sessionId/);
    expect(() => bus.scope({ deal_id: "d".repeat(257) })).toThrow(/at most 256/);
  });
});

describe("close", () => {
  it("waits for calls in flight, then rejects new calls", async () => {
    const bus = new EventBus();
    const inFlight = bus.emitEvent({ event_type: "deal.created" });
    await bus.close();
    await expect(inFlight).resolves.toMatchObject({ event_type: "deal.created" });
    await expect(bus.emitEvent({ event_type: "deal.created" })).rejects.toThrow(/closed/);
    await expect(bus.listEvents()).rejects.toThrow(/closed/);
    const closed = { name: "EventBusError", code: "ERR_CLOSED" };
    await expect(bus.emitEvents([{ event_type: "deal.created" }])).rejects.toMatchObject(closed);
    await expect(bus.getEvent(crypto.randomUUID())).rejects.toMatchObject(closed);
    await expect(bus.listEventsJsonPage()).rejects.toMatchObject(closed);
    expect(() => bus.tail()).toThrow(expect.objectContaining(closed));
    await bus.close();
  });

  it("closes storage it created, and injected storage only when told to", async () => {
    const injected = memoryStorage();
    const close = vi.spyOn(injected, "close");
    await new EventBus({ storage: injected }).close();
    expect(close).not.toHaveBeenCalled();
    await new EventBus({ storage: injected, closeStorage: true }).close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe("options", () => {
  it("rejects bad options with an error naming the option", () => {
    expect(() => new EventBus({ storage: {} as EventStorage })).toThrow(/storage.*append/s);
    expect(() => new EventBus({ now: "today" as never })).toThrow(/now/);
    expect(() => new EventBus({ maxPayloadBytes: -5 })).toThrow(/maxPayloadBytes/);
  });

  it("rejects an emit when the clock returns garbage", async () => {
    const bus = new EventBus({ now: () => "soon" });
    await expect(bus.emitEvent({ event_type: "deal.created" })).rejects.toThrow(/clock returned "soon"/);
  });
});
