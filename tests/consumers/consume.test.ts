import { describe, expect, it } from "vitest";
import { type Event, EventBus, type EventStorage } from "../../src/index.js";
import type { CheckpointStore } from "../../src/storage/index.js";
import { consumerTestStores, until } from "../fixtures/consumer-stores.js";

const stores = await consumerTestStores("consume");

const FAST_RETRY = { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 };

async function emitDeals(bus: EventBus, count: number, from = 0): Promise<Event[]> {
  const events: Event[] = [];
  for (let index = from; index < from + count; index++) {
    events.push(
      await bus.emitEvent({ event_type: index % 3 === 2 ? "deal.synced" : "deal.created", deal_id: `d-${index}` }),
    );
  }
  return events;
}

const ids = (events: readonly Event[]) => events.map((event) => event.event_id);

for (const store of stores) {
  describe.skipIf(!store.available)(`bus.consume() on ${store.name}`, () => {
    it("hands every matching event in append order, in batches, then follows new appends; lag reaches 0", async () => {
      const bus = new EventBus({ storage: store.open(), closeStorage: true });
      const events = await emitDeals(bus, 45);
      const batches: string[][] = [];
      const consumer = bus.consume("export", (batch) => void batches.push(ids(batch)), {
        query: { event_type: "deal.created" },
        batchSize: 7,
      });
      const created = events.filter((event) => event.event_type === "deal.created");
      await until(consumer, (status) => status.position === created.at(-1)?.event_id);
      expect(batches.flat()).toEqual(ids(created));
      expect(batches.every((batch) => batch.length <= 7)).toBe(true);
      expect(batches.slice(0, -1).every((batch) => batch.length === 7)).toBe(true);
      expect(consumer.status()).toMatchObject({ name: "export", state: "active", lag: 0, last_error: null });
      const later = await emitDeals(bus, 3, 100);
      // d-100 and d-102 are deal.created, d-101 is deal.synced.
      await until(consumer, (status) => status.position === later[2]?.event_id);
      expect(batches.flat()).toEqual(ids([...created, later[0] as Event, later[2] as Event]));
      await bus.close();
      expect(consumer.status().state).toBe("stopped");
    });

    it("resumes after its checkpoint on restart and ignores from once it has one", async () => {
      const bus = new EventBus({ storage: store.open(), closeStorage: true });
      const first = await emitDeals(bus, 10);
      const seen: string[] = [];
      const one = bus.consume("crm", (batch) => void seen.push(...ids(batch)), { batchSize: 4 });
      await until(one, (status) => status.position === first.at(-1)?.event_id);
      await one.stop();
      const second = await emitDeals(bus, 5, 10);
      const two = bus.consume("crm", (batch) => void seen.push(...ids(batch)), { batchSize: 4, from: "end" });
      await until(two, (status) => status.position === second.at(-1)?.event_id);
      expect(seen).toEqual(ids([...first, ...second]));
      await bus.close();
    });

    it('starts a new name at from: "end" or after a given event_id, and keeps that start across a restart', async () => {
      const bus = new EventBus({ storage: store.open(), closeStorage: true });
      const old = await emitDeals(bus, 6);
      const fromEnd: string[] = [];
      const fromId: string[] = [];
      const atEnd = bus.consume("tail", (batch) => void fromEnd.push(...ids(batch)), { from: "end" });
      const afterId = bus.consume("after", (batch) => void fromId.push(...ids(batch)), { from: old[3]?.event_id });
      await until(afterId, (status) => status.position === old[5]?.event_id);
      await until(atEnd, (status) => status.state === "active");
      await atEnd.stop();
      const fresh = await emitDeals(bus, 2, 6);
      const again = bus.consume("tail", (batch) => void fromEnd.push(...ids(batch)), { from: "end" });
      await until(again, (status) => status.position === fresh[1]?.event_id);
      await until(afterId, (status) => status.position === fresh[1]?.event_id);
      expect(fromEnd).toEqual(ids(fresh));
      expect(fromId).toEqual(ids([...old.slice(4), ...fresh]));
      await bus.close();
    });

    it('retries a failing batch, then with onFailure "skip" dead-letters only the poison event and moves on', async () => {
      const bus = new EventBus({ storage: store.open(), closeStorage: true });
      const events = await emitDeals(bus, 12);
      const poison = events[5] as Event;
      const handled: string[] = [];
      let poisonTries = 0;
      const consumer = bus.consume(
        "skipper",
        async (batch) => {
          if (batch.some((event) => event.event_id === poison.event_id)) {
            poisonTries++;
            throw new Error(`cannot export ${poison.deal_id}`);
          }
          handled.push(...ids(batch));
        },
        { batchSize: 4, retry: FAST_RETRY, onFailure: "skip" },
      );
      await until(consumer, (status) => status.position === events.at(-1)?.event_id);
      expect(handled).toEqual(ids(events.filter((event) => event !== poison)));
      // 3 tries of the batch holding it, then 3 of the poison event alone.
      expect(poisonTries).toBe(6);
      const letters = await consumer.deadLetters();
      expect(letters.map(({ event_id, error }) => ({ event_id, error }))).toEqual([
        { event_id: poison.event_id, error: "Error: cannot export d-5" },
      ]);
      expect(consumer.status()).toMatchObject({ state: "active", lag: 0, last_error: "Error: cannot export d-5" });
      await bus.close();
    });

    it('retries, then with onFailure "stop" fails at the poison event with the lag and the error visible', async () => {
      const bus = new EventBus({ storage: store.open(), closeStorage: true });
      const events = await emitDeals(bus, 12);
      const handled: string[] = [];
      const consumer = bus.consume(
        "stopper",
        (batch) => {
          if (batch.some((event) => event.deal_id === "d-6")) throw new TypeError("price missing");
          handled.push(...ids(batch));
        },
        { batchSize: 4, retry: FAST_RETRY },
      );
      await consumer.stopped;
      const status = consumer.status();
      expect(status.state).toBe("failed");
      expect(status.last_error).toMatch(/d-6|price missing/);
      expect(status.last_error).toContain(events[6]?.event_id);
      expect(status.position).toBe(events[5]?.event_id);
      expect(status.lag).toBe(6);
      expect(handled).toEqual(ids(events.slice(0, 6)));
      expect(await consumer.deadLetters()).toEqual([]);
      await bus.close();
    });

    it("retries a failed checkpoint write, and fails (never ignores it) when every attempt fails", async () => {
      const storage = store.open();
      const failures = { remaining: 1 };
      const bus = new EventBus({ storage: withFailingWrites(storage, failures), closeStorage: true });
      const events = await emitDeals(bus, 6);
      const transient = bus.consume("flaky", () => {}, { batchSize: 3, retry: FAST_RETRY });
      await until(transient, (status) => status.position === events.at(-1)?.event_id);
      expect(failures.remaining).toBe(0);
      await transient.stop();
      failures.remaining = Number.POSITIVE_INFINITY;
      const broken = bus.consume("broken", () => {}, { batchSize: 3, retry: FAST_RETRY });
      await broken.stopped;
      expect(broken.status()).toMatchObject({ state: "failed", position: null });
      expect(broken.status().last_error).toMatch(/checkpoint write .* failed 3 time\(s\).*disk on fire/);
      await bus.close();
    });
  });
}

/** The store with `writeCheckpoint` failing while `failures.remaining` > 0 (then passing through). */
function withFailingWrites(storage: EventStorage, failures: { remaining: number }): EventStorage {
  const real = storage.checkpoints as CheckpointStore;
  const checkpoints: CheckpointStore = {
    acquireLease: (...args) => real.acquireLease(...args),
    renewLease: (...args) => real.renewLease(...args),
    releaseLease: (...args) => real.releaseLease(...args),
    readCheckpoint: (...args) => real.readCheckpoint(...args),
    deadLetters: (...args) => real.deadLetters(...args),
    writeCheckpoint: async (...args) => {
      if (failures.remaining > 0) {
        failures.remaining--;
        throw new Error("disk on fire");
      }
      return real.writeCheckpoint(...args);
    },
  };
  return {
    name: storage.name,
    append: (events) => storage.append(events),
    get: (id) => storage.get(id),
    list: (query) => storage.list(query),
    close: () => storage.close(),
    checkpoints,
  };
}
