import { afterAll, describe, expect, it } from "vitest";
import { EventBus, type EventStorage, memoryStorage, StorageError } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { drained, outboxFolder } from "../support/outbox.js";

// Issue 19: with a hung store every audit emit waited the store's full timeoutMs before it spilled to the outbox,
// even while the outbox already held events (6 emitters acknowledged 21-36 events in 3 s with timeoutMs 1000).
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A store whose appends fail while `down` (as a store that timed out would), counting every append call. */
function flakyStore(): EventStorage & { down: boolean; appends: number } {
  const inner = memoryStorage();
  const store = {
    ...inner,
    name: "flaky",
    down: false,
    appends: 0,
    append: async (events: Parameters<EventStorage["append"]>[0]) => {
      store.appends++;
      if (store.down) throw new StorageError("flaky", "append", new Error("timed out after 1000 ms (test)"));
      return inner.append(events);
    },
  };
  return store;
}

async function busWithOutbox(storage: EventStorage, initialDelayMs: number) {
  const { path, remove } = await outboxFolder();
  const outbox = fileOutbox({ path, retry: { initialDelayMs, maxDelayMs: initialDelayMs }, onError: () => {} });
  const bus = new EventBus({ storage, outbox });
  cleanups.push(remove, () => bus.close());
  return { bus, path };
}

describe("the outbox's circuit breaker", () => {
  it("sends audit emits straight to the outbox after a store failure: one store call for the whole outage", async () => {
    const storage = flakyStore();
    // No replay probe during the test: every append call counted comes from an emit.
    const { bus } = await busWithOutbox(storage, 60_000);
    await bus.emitEvent({ event_type: "deal.created" });
    storage.down = true;
    storage.appends = 0;
    for (let index = 0; index < 20; index++) await bus.emitEvent({ event_type: "deal.created", payload: { index } });
    expect(storage.appends).toBe(1);
    expect(bus.outboxStatus().pending).toBe(20);
    // Other types are not the outbox's: they still go to the store, and fail.
    await expect(bus.emitEvent({ event_type: "session.created" })).rejects.toBeInstanceOf(StorageError);
  });

  it("closes on the replay's first success: emits go to the store again", async () => {
    const storage = flakyStore();
    const { bus, path } = await busWithOutbox(storage, 20);
    storage.down = true;
    await bus.emitEvent({ event_type: "deal.created" });
    storage.down = false;
    await drained(bus, path);
    const direct = await bus.emitEvent({ event_type: "deal.created" });
    expect(bus.outboxStatus().pending).toBe(0);
    expect(await storage.get(direct.event_id)).toEqual(direct);
  });
});

describe("outboxStatus() right after a restart", () => {
  it("counts what the previous process left from the very first call, before replay stores it", async () => {
    const storage = flakyStore();
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    storage.down = true;
    const first = new EventBus({ storage, outbox: fileOutbox({ path, onError: () => {} }) });
    const left = await first.emitEvent({ event_type: "deal.created" });
    await first.close();
    storage.down = false;
    const second = new EventBus({ storage, outbox: fileOutbox({ path, onError: () => {} }) });
    cleanups.push(() => second.close());
    // Synchronously after start-up: the left-over line is pending, though the replay has not run yet.
    expect(second.outboxStatus()).toMatchObject({ pending: 1, oldest_timestamp: left.timestamp });
    await drained(second, path);
    expect(await storage.get(left.event_id)).toEqual(left);
  });
});
