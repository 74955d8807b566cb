// Every options object the library takes goes through one checker (src/errors/option-keys.ts): unknown keys are
// refused with a "did you mean", and hostile objects (throwing getters, revoked Proxies, non-plain objects) give an
// EventValidationError naming the option, never a raw TypeError.
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createEventsFetchHandler, createEventsHandler, createEventsKoaMiddleware } from "../../src/http/index.js";
import { EventBus, type EventStorage, EventValidationError, memoryStorage } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { outboxFolder } from "../support/outbox.js";
import { loadAnySqlite } from "../support/sqlite.js";

const throwing = () => {
  throw new TypeError("boom from a getter");
};

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

function withGetter(key: string, base: Record<string, unknown> = {}): Record<string, unknown> {
  return Object.defineProperty({ ...base }, key, { get: throwing, enumerable: true });
}

/** The EventValidationError a call throws (synchronously or as a rejection). */
async function refusal(call: () => unknown): Promise<EventValidationError> {
  let thrown: unknown;
  try {
    await call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(EventValidationError);
  return thrown as EventValidationError;
}

class OptionsClass {
  readonly maxEvents = 5;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("hostile option objects", () => {
  const factories: [string, (options: never) => unknown][] = [
    ["new EventBus", (options) => new EventBus(options)],
    ["memoryStorage", (options) => memoryStorage(options)],
    ["createEventsHandler", (options) => createEventsHandler(new EventBus(), options)],
    ["createEventsKoaMiddleware", (options) => createEventsKoaMiddleware(new EventBus(), options)],
    ["createEventsFetchHandler", (options) => createEventsFetchHandler(new EventBus(), options)],
    ["fileOutbox", (options) => fileOutbox(options)],
    ["prune", (options) => memoryStorage().prune?.(options)],
  ];

  for (const [name, create] of factories) {
    it(`${name}: a revoked Proxy, a throwing getter and a non-plain object each give an EventValidationError`, async () => {
      expect((await refusal(() => create(revoked({}) as never))).message).toMatch(/options could not be read/);
      const getter = await refusal(() => create(withGetter("onError") as never));
      // Keys are checked before values: an unknown key is named as unknown, a known one as unreadable.
      expect(getter.issues[0]?.path).toEqual(["onError"]);
      expect((await refusal(() => create(new Map() as never))).message).toMatch(
        /takes a plain options object, got a Map/,
      );
      expect((await refusal(() => create(new OptionsClass() as never))).message).toMatch(/got a OptionsClass instance/);
    });
  }

  it("names a known option whose getter throws", async () => {
    const error = await refusal(() => memoryStorage(withGetter("maxEvents") as never));
    expect(error.message).toBe("[ad-seller-events] maxEvents: could not be read: TypeError: boom from a getter");
  });

  it("reads each option once, so a getter cannot answer differently later", () => {
    let reads = 0;
    const options = Object.defineProperty({}, "maxEvents", { get: () => ++reads, enumerable: true });
    memoryStorage(options as never);
    expect(reads).toBe(1);
  });

  it("bounds the work on an object of 100,000 unknown keys", async () => {
    const options: Record<string, number> = {};
    for (let index = 0; index < 100_000; index++) options[`key${index}`] = index;
    const error = await refusal(() => memoryStorage(options as never));
    expect(error.issues).toHaveLength(21);
    expect(error.issues.at(-1)?.message).toMatch(/and 99980 more problems/);
  });
});

describe("unknown option keys", () => {
  it("prune refuses an unknown key and deletes nothing", async () => {
    const storage = memoryStorage();
    const bus = new EventBus({ storage });
    await bus.emitEvent({ event_type: "deal.created", timestamp: "2020-01-01T00:00:00Z" });
    const before = new Date("2030-01-01T00:00:00Z");
    const error = await refusal(() => storage.prune?.({ before, typez: ["deal.created"] } as never));
    expect(error.message).toMatch(/typez: is not an option of prune; did you mean "types"\?/);
    expect(await bus.listEvents()).toHaveLength(1);
  });

  it("prune refuses unknown keys on SQLite and Redis too, before touching the store", async () => {
    const open = await loadAnySqlite();
    const database = open(":memory:");
    const sqlite = sqliteStorage({ database });
    const client = new Redis({ lazyConnect: true, port: 1 });
    const redis = redisStorage({ client });
    cleanups.push(async () => {
      await sqlite.close();
      database.close();
      client.disconnect();
    });
    for (const storage of [sqlite, redis] as EventStorage[]) {
      const error = await refusal(() => storage.prune?.({ before: new Date(), batchsize: 5 } as never));
      expect(error.message).toMatch(/batchsize: .*did you mean "batchSize"/);
    }
  });

  it("fileOutbox refuses garbage fsync, onError, types and retry", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const refusedFor = async (options: object) =>
      (await refusal(() => fileOutbox({ path, ...options } as never))).message;
    expect(await refusedFor({ fsync: "yes" })).toMatch(/fsync: must be true or false, got "yes"/);
    expect(await refusedFor({ onError: "log" })).toMatch(/onError: must be a function, got "log"/);
    expect(await refusedFor({ types: [] })).toMatch(/types: must be "all" or a non-empty array of event types/);
    expect(await refusedFor({ retry: { maxDelay: 5 } })).toMatch(/maxDelay: .*did you mean "maxDelayMs"/);
    expect(await refusedFor({ fsnyc: true })).toMatch(/fsnyc: is not an option of fileOutbox; did you mean "fsync"/);
  });

  it("the HTTP factories refuse unknown keys and callbacks that are not functions", async () => {
    const bus = new EventBus();
    expect((await refusal(() => createEventsHandler(bus, { basepath: "/x" } as never))).message).toMatch(
      /basepath: is not an option of the events handler; did you mean "basePath"/,
    );
    expect((await refusal(() => createEventsFetchHandler(bus, { authorize: true } as never))).message).toMatch(
      /authorize: must be a function, got true/,
    );
    expect((await refusal(() => createEventsKoaMiddleware(bus, { viewer: "yes" } as never))).message).toMatch(
      /viewer: must be true, false or \{ rowSummaries \}, got "yes"/,
    );
  });
});

describe("the page limit", () => {
  it("cannot be raised past 1000 by a code caller", async () => {
    const bus = new EventBus();
    const error = await refusal(() => bus.listEventsPage({ limit: 1500 }));
    expect(error.message).toMatch(/limit: must be an integer from 1 to 1000, got 1500/);
    // The old second argument is gone; passing it anyway changes nothing.
    const call = bus.listEventsPage as (query: object, options: object) => Promise<unknown>;
    await expect(call.call(bus, { limit: 1500 }, { maxLimit: 5000 })).rejects.toBeInstanceOf(EventValidationError);
  });
});
