import { describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError, memoryStorage, StorageError } from "../../src/index.js";
import { countingStorage } from "../support/counting-storage.js";

const ROUND = "negotiation.round" as const;

/** Collects `count` events from a tail, then stops it. */
async function take(tail: AsyncIterable<Event>, count: number): Promise<Event[]> {
  const seen: Event[] = [];
  if (count === 0) return seen;
  for await (const event of tail) {
    seen.push(event);
    if (seen.length === count) break;
  }
  return seen;
}

const ids = (events: readonly Event[]) => events.map((event) => event.event_id);

describe("bus.tail", () => {
  it("rejects window fields, bad options and unknown fields, naming each", () => {
    const bus = new EventBus();
    for (const field of ["before", "until", "limit"] as const) {
      const query = { [field]: field === "limit" ? 5 : crypto.randomUUID() } as never;
      expect(() => bus.tail(query)).toThrow(EventValidationError);
      expect(() => bus.tail(query)).toThrow(field);
    }
    expect(() => bus.tail({}, { signal: {} as AbortSignal })).toThrow(/signal/);
    expect(() => bus.tail({}, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => bus.tail({}, { onError: "x" as never })).toThrow(/onError/);
    expect(() => bus.tail({ event_type: "nope" as never })).toThrow(/event_type/);
  });

  it("refuses unknown and unreadable options and bad from values with EventValidationError, never a TypeError", () => {
    const bus = new EventBus();
    expect(() => bus.tail({}, { batchSiz: 5 } as never)).toThrow(/batchSiz: is not an option of tail.*batchSize/);
    const hostile = {
      get signal(): never {
        throw new Error("boom");
      },
    };
    expect(() => bus.tail({}, hostile as never)).toThrow(EventValidationError);
    expect(() =>
      bus.tail(
        {},
        new Proxy(
          {},
          {
            ownKeys: () => {
              throw new Error("trap");
            },
          },
        ) as never,
      ),
    ).toThrow(EventValidationError);
    expect(() => bus.tail({ from: "yesterday" } as never)).toThrow(/from: must be "start", "end" or an event_id/);
    expect(() => bus.tail({}, { onGap: "skip" } as never)).toThrow(/onGap/);
  });

  it("from: start reads every stored match first, then live", async () => {
    const bus = new EventBus();
    const old = await bus.emitEvent({ event_type: ROUND, flow_id: "a" });
    const tail = bus.tail({ from: "start" });
    const first = await tail.next();
    const fresh = await bus.emitEvent({ event_type: ROUND, flow_id: "b" });
    expect([first.value?.event_id, (await tail.next()).value?.event_id]).toEqual([old.event_id, fresh.event_id]);
    await bus.close();
  });

  it("rejects an unknown after cursor on the first step", async () => {
    const bus = new EventBus();
    const tail = bus.tail({ after: crypto.randomUUID() });
    await expect(tail.next()).rejects.toThrow(/after/);
    await bus.close();
  });

  it("starts at the current end without after, and resumes exactly after a cursor with it", async () => {
    const bus = new EventBus();
    const old = await bus.emitEvent({ event_type: ROUND, flow_id: "a" });
    // An event stamped in the very millisecond of tail() may be included (docs/live-delivery.md): step past it.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const fresh = bus.tail({});
    const first = fresh.next();
    const next = await bus.emitEvent({ event_type: ROUND, flow_id: "b" });
    expect((await first).value?.event_id).toBe(next.event_id);
    await fresh.return?.();
    const resumed = await take(bus.tail({ after: old.event_id }), 1);
    expect(ids(resumed)).toEqual([next.event_id]);
    await bus.close();
  });

  it("starts at a time with since: every match at or after it, then live", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const bus = new EventBus({
      now: () => {
        clock += 1000;
        return new Date(clock);
      },
    });
    const events: Event[] = [];
    for (let index = 0; index < 250; index++) events.push(await bus.emitEvent({ event_type: ROUND }));
    const since = (events[100] as Event).timestamp;
    const tail = bus.tail({ since }, { batchSize: 40 });
    const pending = take(tail, 151);
    const live = await bus.emitEvent({ event_type: ROUND });
    expect(ids(await pending)).toEqual([...ids(events.slice(100)), live.event_id]);
    await bus.close();
  });

  it("ends on abort, on break and on bus close, and releases the shared reader and its watch", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    const controller = new AbortController();
    const aborted = bus.tail({}, { signal: controller.signal });
    const step = aborted.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(storage.watchers).toBe(1);
    controller.abort();
    expect(await step).toEqual({ done: true, value: undefined });
    expect(storage.watchers).toBe(0);
    const closing = bus.tail({}).next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await bus.close();
    expect(await closing).toEqual({ done: true, value: undefined });
    expect(storage.watchers).toBe(0);
    expect(() => bus.tail({})).toThrow(/closed/);
  });

  it("yields every match once, in append order, to many tailers with different filters", async () => {
    const bus = new EventBus();
    const flows = ["f0", "f1", "f2", "f3"];
    const tails = flows.map((flow_id) => bus.tail({ flow_id }, { batchSize: 7 }));
    const everything = bus.tail({});
    // Start every tail before emitting: the tails begin at the current end.
    const firsts = [...tails, everything].map((tail) => tail.next());
    await new Promise((resolve) => setTimeout(resolve, 10));
    const emitted = await Promise.all(
      Array.from({ length: 400 }, (_, index) => bus.emitEvent({ event_type: ROUND, flow_id: `f${index % 4}` })),
    );
    const stored = await bus.listEvents({ limit: 1000, since: "2000-01-01T00:00:00Z" });
    const received = await Promise.all(
      [...tails, everything].map(async (tail, index) => {
        const first = (await firsts[index])?.value as Event;
        const expected = index < 4 ? stored.filter((event) => event.flow_id === flows[index]).length : 400;
        return [first, ...(await take(tail, expected - 1))];
      }),
    );
    flows.forEach((flow, index) => {
      expect(ids(received[index] as Event[])).toEqual(ids(stored.filter((event) => event.flow_id === flow)));
    });
    expect(ids(received[4] as Event[])).toEqual(ids(stored));
    expect(new Set(ids(emitted)).size).toBe(400);
    await bus.close();
  });

  it("serves 1,000 tailers with one store read per wake-up", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    const tails = Array.from({ length: 1000 }, (_, index) =>
      bus.tail({ flow_id: `flow-${index % 50}`, ...(index % 2 === 0 ? { event_type: ROUND } : {}) }),
    );
    const firsts = tails.map((tail) => tail.next());
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = storage.reads.length;
    const bursts = 20;
    for (let burst = 0; burst < bursts; burst++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, index) => bus.emitEvent({ event_type: ROUND, flow_id: `flow-${index}` })),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const got = await Promise.all(firsts);
    expect(got.every((result) => result.done === false)).toBe(true);
    const reads = storage.reads.length - before;
    // One read per burst (each wakes the reader once), never one per tailer.
    expect(reads).toBeLessThanOrEqual(bursts + 2);
    expect(storage.reads.slice(before).every((query) => query.flow_id === undefined)).toBe(true);
    await bus.close();
  });

  it("drops a tailer that falls far behind to its own cursor reads, losing nothing", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    const slow = bus.tail({ flow_id: "slow" }, { batchSize: 500 });
    const fast = bus.tail({});
    const slowFirst = slow.next();
    const fastFirst = fast.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const ownReads = () => storage.reads.filter((query) => query.flow_id === "slow").length;
    // A tail opened before the shared reader's first read reads once by itself (see "no cursor" below).
    const startReads = ownReads();
    const emitted: Event[] = [];
    for (let round = 0; round < 8; round++) {
      const batch = Array.from({ length: 1000 }, (_, index) =>
        bus.emitEvent({ event_type: ROUND, flow_id: index % 2 === 0 ? "slow" : "other" }),
      );
      emitted.push(...(await Promise.all(batch)));
      // Only the fast tail reads while the events arrive.
      await take({ [Symbol.asyncIterator]: () => fast }, round === 0 ? 999 : 1000);
    }
    await fastFirst;
    expect(ownReads()).toBe(startReads);
    const slowEvents = [(await slowFirst).value as Event, ...(await take(slow, 3999))];
    expect(ids(slowEvents)).toEqual(ids(emitted.filter((event) => event.flow_id === "slow")));
    expect(ownReads()).toBeGreaterThan(startReads);
    await bus.close();
  });

  it("retries a store outage with backoff, reports it to onError, and loses nothing", async () => {
    const storage = countingStorage(memoryStorage(), { watch: false });
    const bus = new EventBus({ storage });
    const start = await bus.emitEvent({ event_type: ROUND });
    const errors: unknown[] = [];
    const tail = bus.tail({ after: start.event_id }, { onError: (error) => errors.push(error) });
    const first = tail.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    storage.failing = true;
    const emitted = [];
    for (let index = 0; index < 5; index++) emitted.push(await bus.emitEvent({ event_type: ROUND }));
    while (errors.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    storage.failing = false;
    const got = [(await first).value as Event, ...(await take(tail, 4))];
    expect(ids(got)).toEqual(ids(emitted));
    expect(errors[0]).toBeInstanceOf(StorageError);
    await bus.close();
  });
});

describe("bus.tail on a bounded memory store", () => {
  it("fails a tail whose cursor was evicted, instead of skipping silently", async () => {
    const bus = new EventBus({ storage: memoryStorage({ maxEvents: 50 }) });
    const first = await bus.emitEvent({ event_type: ROUND });
    for (let index = 0; index < 60; index++) await bus.emitEvent({ event_type: ROUND });
    await expect(bus.tail({ after: first.event_id }).next()).rejects.toBeInstanceOf(EventValidationError);
    await bus.close();
  });
});
