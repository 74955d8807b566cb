import { describe, expect, it } from "vitest";
import { type Event, EventBus, memoryStorage } from "../../src/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";

describeStorageConformance({
  name: "memory",
  createStorage: () => memoryStorage(),
  watch: true,
  checkpoints: true,
  webhooks: true,
  prune: true,
  describe,
  it,
  expect,
});

function eventAt(index: number, fields: Record<string, string> = {}): Event {
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: "negotiation.round",
    timestamp: new Date(Date.UTC(2026, 0, 1) + index).toISOString(),
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

/** Wraps events in proxies that count property reads, to measure how much of the store a query touches. */
function counted(events: Event[]): { events: Event[]; reads: () => number } {
  let reads = 0;
  const handler: ProxyHandler<Event> = {
    get(target, key, receiver) {
      reads += 1;
      return Reflect.get(target, key, receiver);
    },
  };
  return { events: events.map((event) => new Proxy(event, handler)), reads: () => reads };
}

describe("memoryStorage", () => {
  it("evicts the oldest events past maxEvents, from the log and every index", async () => {
    const bus = new EventBus({ storage: memoryStorage({ maxEvents: 3 }) });
    const emitted = [];
    for (let index = 0; index < 5; index++) {
      emitted.push(await bus.emitEvent({ event_type: "deal.created", deal_id: `d-${index % 2}`, payload: { index } }));
    }
    expect(await bus.listEvents()).toEqual(emitted.slice(2));
    expect(await bus.listEvents({ deal_id: "d-0" })).toEqual([emitted[2], emitted[4]]);
    expect(await bus.getEvent((emitted[0] as Event).event_id)).toBeNull();
    await expect(bus.listEvents({ after: (emitted[1] as Event).event_id })).rejects.toThrow(/no stored event/);
  });

  it("rejects a maxEvents that is not a positive integer", () => {
    expect(() => memoryStorage({ maxEvents: 0 })).toThrow(/maxEvents: must be a positive integer/);
    expect(() => memoryStorage({ maxEvents: 2.5 })).toThrow(/maxEvents/);
  });

  it("reads O(limit) events for a filtered list, however many other events are stored", async () => {
    const readsFor = async (storedCount: number) => {
      const storage = memoryStorage();
      const noise = Array.from({ length: storedCount }, (_, index) =>
        eventAt(index, { flow_id: `noise-${index % 50}` }),
      );
      const target = Array.from({ length: 100 }, (_, index) => eventAt(storedCount + index, { flow_id: "target" }));
      const { events, reads } = counted([
        ...noise.slice(0, storedCount / 2),
        ...target,
        ...noise.slice(storedCount / 2),
      ]);
      await storage.append(events);
      const before = reads();
      const listed = await storage.list({ flow_id: "target", limit: 10 });
      expect(listed).toHaveLength(10);
      return reads() - before;
    };
    const small = await readsFor(1_000);
    const large = await readsFor(100_000);
    expect(large).toBe(small);
  });

  it("walks the rare side of a combined filter: a common flow_type with a rare or absent type", async () => {
    const readsFor = async (storedCount: number, type: Event["event_type"]) => {
      const storage = memoryStorage();
      const common = Array.from({ length: storedCount }, (_, index) => eventAt(index, { flow_type: "common" }));
      const rare = Array.from({ length: 3 }, (_, index) =>
        eventAt(index, { flow_type: "common", event_type: "approval.denied" }),
      );
      const { events, reads } = counted([...rare, ...common]);
      await storage.append(events);
      const before = reads();
      const listed = await storage.list({ flow_type: "common", event_types: [type], limit: 5 });
      expect(listed).toHaveLength(type === "approval.denied" ? 3 : 0);
      return reads() - before;
    };
    expect(await readsFor(20_000, "approval.denied")).toBe(await readsFor(1_000, "approval.denied"));
    expect(await readsFor(20_000, "approval.timed_out")).toBe(0);
  });

  it("prunes alongside maxEvents eviction and keeps lists, cursors and gaps right", async () => {
    const storage = memoryStorage({ maxEvents: 6 });
    const events = Array.from({ length: 6 }, (_, index) =>
      eventAt(index, { event_type: index % 2 === 0 ? "session.created" : "deal.created", session_id: "s" }),
    );
    await storage.append(events);
    // Prune the three non-audit events (positions 0, 2, 4), then append past maxEvents: the oldest live goes.
    expect(await storage.prune?.({ before: "2027-01-01T00:00:00.000Z" })).toBe(3);
    const later = Array.from({ length: 4 }, (_, index) => eventAt(10 + index, { session_id: "s" }));
    await storage.append(later);
    const expected = [events[3], events[5], ...later].map((event) => event?.event_id);
    expect((await storage.list({ session_id: "s", limit: 50 })).map((event) => event.event_id)).toEqual(expected);
    expect((await storage.list({ limit: 50 })).map((event) => event.event_id)).toEqual(expected);
    // Event 1 was evicted (unknown cursor), event 2 was pruned (a gap), event 3 is kept.
    await expect(storage.list({ after: (events[1] as Event).event_id, limit: 5 })).rejects.toThrow(/no stored event/);
    await expect(storage.list({ after: (events[2] as Event).event_id, limit: 5 })).rejects.toThrow(/retention/);
    expect(await storage.list({ before: (events[5] as Event).event_id, limit: 5 })).toEqual([events[3]]);
  });
});
