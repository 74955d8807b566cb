// A running consumer holds retention back: consume() hands its query to the store with its lease.
import { describe, expect, it } from "vitest";
import { EventBus, memoryStorage } from "../../src/index.js";
import { until } from "../fixtures/consumer-stores.js";

describe("bus.consume() and prune", () => {
  it("keeps the matching events the consumer has not handled, and prunes what it handled and what it does not read", async () => {
    const storage = memoryStorage();
    const bus = new EventBus({ storage });
    const hour = (index: number) => new Date(Date.parse("2025-01-01T00:00:00.000Z") + index * 3_600_000).toISOString();
    const created = [];
    for (let index = 0; index < 4; index++) {
      created.push(await bus.emitEvent({ event_type: "session.created", timestamp: hour(2 * index) }));
      await bus.emitEvent({ event_type: "session.closed", timestamp: hour(2 * index + 1) });
    }
    // Handles the first batch of two, then fails on the second and stops: its checkpoint is the second event.
    let calls = 0;
    const consumer = bus.consume(
      "retention-holder",
      () => {
        calls += 1;
        if (calls > 1) throw new Error("warehouse down");
      },
      { query: { event_type: "session.created" }, batchSize: 2, retry: { attempts: 1 } },
    );
    await until(consumer, (status) => status.state === "failed");
    expect(consumer.status().position).toBe(created[1]?.event_id);
    const [record] = (await storage.checkpoints?.listConsumers?.()) ?? [];
    expect(record?.query?.event_types).toEqual(["session.created"]);

    expect(await storage.prune?.({ before: "2026-01-01T00:00:00.000Z" })).toBe(5);
    const left = await bus.listEvents({ limit: 100 });
    expect(left.map((event) => event.event_id)).toEqual([
      created[1]?.event_id,
      created[2]?.event_id,
      created[3]?.event_id,
    ]);
    await consumer.stop();
    await bus.close();
  });
});
