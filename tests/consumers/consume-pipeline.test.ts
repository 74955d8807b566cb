import { describe, expect, it } from "vitest";
import { type Consumer, type ConsumerStatus, type Event, EventBus, type EventStorage } from "../../src/index.js";
import type { CheckpointStore, CheckpointWrite, ConsumerLease } from "../../src/storage/index.js";
import { consumerTestStores } from "../fixtures/consumer-stores.js";

const stores = await consumerTestStores("pipeline");

/** A checkpoint write the test holds: it reaches the real store only once released. */
interface HeldWrite {
  readonly lease: ConsumerLease;
  readonly write: CheckpointWrite;
  release(): void;
}

/** The store with every checkpoint write held until `open()`; `real` is the unwrapped capability. */
function holdingWrites(storage: EventStorage) {
  const real = storage.checkpoints as CheckpointStore;
  const held: HeldWrite[] = [];
  let holding = true;
  const writeCheckpoint = async (lease: ConsumerLease, write: CheckpointWrite) => {
    if (holding) await new Promise<void>((release) => held.push({ lease, write, release }));
    return real.writeCheckpoint(lease, write);
  };
  const wrapped: EventStorage = Object.assign(Object.create(storage) as EventStorage, {
    checkpoints: { ...real, writeCheckpoint },
  });
  return {
    storage: wrapped,
    real,
    held,
    open() {
      holding = false;
      for (const write of held.splice(0)) write.release();
    },
  };
}

async function until<T>(read: () => T, predicate: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = read();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`never saw ${what}; last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function emitDeals(bus: EventBus, count: number): Promise<Event[]> {
  const events: Event[] = [];
  for (let index = 0; index < count; index++)
    events.push(await bus.emitEvent({ event_type: "deal.created", deal_id: `d-${index}` }));
  return events;
}

const statusOf = (consumer: Consumer) => () => consumer.status();

for (const store of stores) {
  describe.skipIf(!store.available)(`pipelined checkpoints on ${store.name}`, () => {
    it("hands a batch to its handler only once the last batch's checkpoint is durable, and stop() flushes the last", async () => {
      const hold = holdingWrites(store.open());
      const bus = new EventBus({ storage: hold.storage, closeStorage: true });
      const events = await emitDeals(bus, 20);
      const handled: string[] = [];
      const seenCheckpoints: (string | null)[] = [];
      let openLast: () => void = () => {};
      const lastGate = new Promise<void>((resolve) => (openLast = resolve));
      const consumer = bus.consume(
        "flusher",
        async (batch) => {
          seenCheckpoints.push(await hold.real.readCheckpoint("flusher"));
          if (batch.some((event) => event.event_id === events[15]?.event_id)) await lastGate; // in flight at stop()
          handled.push(...batch.map((event) => event.event_id));
        },
        { batchSize: 5 },
      );
      const [first] = await until(
        () => hold.held,
        (held) => held.length === 1,
        "the first write held",
      );
      expect(first?.write.position).toBe(events[4]?.event_id);
      hold.open();
      await until(
        () => seenCheckpoints.length,
        (count) => count === 4,
        "the last batch handed over",
      );
      // Each handler call saw the previous batch's checkpoint already in the store: a crash hands one batch again.
      expect(seenCheckpoints).toEqual([null, events[4]?.event_id, events[9]?.event_id, events[14]?.event_id]);
      const stopping = consumer.stop();
      openLast();
      await stopping;
      expect(handled).toEqual(events.map((event) => event.event_id));
      expect(await hold.real.readCheckpoint("flusher")).toBe(events.at(-1)?.event_id);
      expect(consumer.status()).toMatchObject({ state: "stopped", position: events.at(-1)?.event_id });
      await bus.close();
    });

    it("refuses the held write once another instance took the lease over, and never claims that position", async () => {
      const hold = holdingWrites(store.open());
      const bus = new EventBus({ storage: hold.storage, closeStorage: true });
      const events = await emitDeals(bus, 10);
      const consumer = bus.consume("fenced", () => {}, { batchSize: 5, leaseMs: 1_000 });
      const [first] = await until(
        () => hold.held,
        (held) => held.length === 1,
        "the first write held",
      );
      // The lease changes hands in the store while the write is in flight; the successor writes its own position.
      const stale = (first as HeldWrite).lease;
      await hold.real.releaseLease(stale);
      const successor = await hold.real.acquireLease("fenced", "successor", 60_000);
      if (successor === null) throw new Error("the successor could not take the lease");
      expect(successor.generation).toBeGreaterThan(stale.generation);
      expect(
        await hold.real.writeCheckpoint(successor, { expected: null, position: events[1]?.event_id as string }),
      ).toBe(true);
      hold.open();
      const status: ConsumerStatus = await until(
        statusOf(consumer),
        (seen) => /store refused the checkpoint write/.test(seen.last_error ?? ""),
        "the refusal",
      );
      expect(status.position).toBeNull();
      await until(statusOf(consumer), (seen) => seen.state === "standby", "standby");
      expect(await hold.real.readCheckpoint("fenced")).toBe(events[1]?.event_id);
      await consumer.stop();
      expect(await hold.real.readCheckpoint("fenced")).toBe(events[1]?.event_id);
      await bus.close();
    });
  });
}
