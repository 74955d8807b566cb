// In-process cases on the memory store: two instances of one name, handler shapes and timeouts, stopping.
import { describe, expect, it } from "vitest";
import { type Event, EventBus } from "../../src/index.js";
import { until } from "../fixtures/consumer-stores.js";

const FAST_RETRY = { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 };

async function busWith(count: number): Promise<{ bus: EventBus; events: Event[] }> {
  const bus = new EventBus();
  const events: Event[] = [];
  for (let index = 0; index < count; index++)
    events.push(await bus.emitEvent({ event_type: "deal.created", deal_id: `d-${index}` }));
  return { bus, events };
}

describe("bus.consume() in one process", () => {
  it("keeps a second instance of the name on standby until the active one stops, then hands over", async () => {
    const { bus, events } = await busWith(5);
    const seen: [string, string][] = [];
    const first = bus.consume(
      "one",
      (batch) => void seen.push(...batch.map((e) => ["first", e.deal_id] as [string, string])),
    );
    await until(first, (status) => status.position === events.at(-1)?.event_id);
    const second = bus.consume(
      "one",
      (batch) => void seen.push(...batch.map((e) => ["second", e.deal_id] as [string, string])),
      {
        leaseMs: 1_000,
      },
    );
    await until(second, (status) => status.state === "standby");
    const late = await bus.emitEvent({ event_type: "deal.created", deal_id: "late" });
    await until(first, (status) => status.position === late.event_id);
    expect(second.status().state).toBe("standby");
    await first.stop();
    const after = await bus.emitEvent({ event_type: "deal.created", deal_id: "after" });
    await until(second, (status) => status.state === "active" && status.position === after.event_id);
    expect(seen).toEqual([...events.map((event) => ["first", event.deal_id]), ["first", "late"], ["second", "after"]]);
    await bus.close();
  });

  it("treats a synchronous throw and a hang past handlerTimeoutMs as failed attempts, a plain return as success", async () => {
    const { bus, events } = await busWith(3);
    const attempts: string[] = [];
    const consumer = bus.consume(
      "shapes",
      (batch, { attempt, signal }) => {
        const id = batch[0]?.deal_id as string;
        attempts.push(`${id}#${attempt}`);
        if (id === "d-0" && attempt === 1) throw new Error("sync throw");
        if (id === "d-1" && attempt === 1) {
          return new Promise((resolve) => signal.addEventListener("abort", resolve)); // hangs until timed out
        }
        return 42; // not a promise: fine
      },
      { batchSize: 1, handlerTimeoutMs: 50, retry: FAST_RETRY },
    );
    await until(consumer, (status) => status.position === events.at(-1)?.event_id);
    expect(attempts).toEqual(["d-0#1", "d-0#2", "d-1#1", "d-1#2", "d-2#1"]);
    expect(consumer.status().last_error).toMatch(/handlerTimeoutMs \(50 ms\)/);
    await bus.close();
  });

  it("stops when its signal aborts and when the bus closes, after the batch in flight", async () => {
    const { bus, events } = await busWith(4);
    const controller = new AbortController();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const consumer = bus.consume(
      "signal",
      async (batch) => {
        await gate;
        handled.push(...batch.map((e) => e.deal_id));
      },
      { signal: controller.signal, batchSize: 2 },
    );
    await until(consumer, (status) => status.state === "active");
    controller.abort();
    release();
    await consumer.stopped;
    expect(consumer.status()).toMatchObject({ state: "stopped", position: events[1]?.event_id });
    expect(handled).toEqual(["d-0", "d-1"]);
    const other = bus.consume("closing", () => {});
    await until(other, (status) => status.position === events.at(-1)?.event_id);
    await bus.close();
    expect(other.status().state).toBe("stopped");
  });

  it("fails, without saving it, a from that names no stored event", async () => {
    const { bus } = await busWith(2);
    const unknown = crypto.randomUUID();
    const consumer = bus.consume("nowhere", () => {}, { from: unknown });
    await consumer.stopped;
    expect(consumer.status()).toMatchObject({ state: "failed", position: null });
    expect(consumer.status().last_error).toContain(`no stored event has event_id ${unknown}`);
    expect(await bus.storage.checkpoints?.readCheckpoint("nowhere")).toBeNull();
    await bus.close();
  });
});
