// How a consumer reads a backlog: by cursor into its window, topped up half a window at a time (not once per batch),
// every event handed once, in order.
import { describe, expect, it } from "vitest";
import { type Event, EventBus, type EventStorage, memoryStorage } from "../../src/index.js";
import { until } from "../fixtures/consumer-stores.js";

/** A memory store that counts its `list` calls (the consumer's reads). */
function countingReads() {
  const storage = memoryStorage();
  const counted = { reads: 0 };
  const wrapped: EventStorage = Object.assign(Object.create(storage) as EventStorage, {
    list: (query: Parameters<EventStorage["list"]>[0]) => {
      counted.reads += 1;
      return storage.list(query);
    },
  });
  return { storage: wrapped, counted };
}

describe("consumer reads", () => {
  it("reads a backlog of 3,000 in a 1,000-event window with 500-event top-ups: 7 reads for 30 batches", async () => {
    const { storage, counted } = countingReads();
    const bus = new EventBus({ storage, closeStorage: true });
    const start = await bus.emitEvent({ event_type: "session.created" });
    const events: Event[] = [];
    for (let round = 0; round < 30; round++) {
      const inputs = Array.from({ length: 100 }, (_, index) => ({
        event_type: "deal.created" as const,
        deal_id: `d-${round * 100 + index}`,
      }));
      events.push(...(await bus.emitEvents(inputs)));
    }
    const handled: string[] = [];
    const sizes: number[] = [];
    const before = counted.reads;
    const consumer = bus.consume(
      "reads",
      (batch) => {
        sizes.push(batch.length);
        handled.push(...batch.map((event) => event.event_id));
      },
      { batchSize: 100, from: start.event_id },
    );
    await until(consumer, (status) => status.position === events.at(-1)?.event_id && status.lag === 0);
    await consumer.stop();
    expect(handled).toEqual(events.map((event) => event.event_id));
    expect(sizes.every((size) => size === 100)).toBe(true);
    // 1,000, then 500 four times, then the short read that finds the end (a reader topping up after every batch of
    // 100 reads 21 times or more).
    expect(counted.reads - before).toBeLessThanOrEqual(7);
    await bus.close();
  });
});
