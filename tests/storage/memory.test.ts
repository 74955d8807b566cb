import { describe, expect, it } from "vitest";
import { type Event, EventBus, memoryStorage } from "../../src/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";

describeStorageConformance({
  name: "memory",
  createStorage: () => memoryStorage(),
  watch: true,
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
});
