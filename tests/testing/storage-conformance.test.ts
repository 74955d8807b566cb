import { describe, expect, it } from "vitest";
import { type Event, type EventStorage, memoryStorage } from "../../src/index.js";
import type { NormalizedEventQuery } from "../../src/storage/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";

type SuiteTest = { name: string; body: () => Promise<void> };

/** Collects the suite's tests for one adapter without registering them with vitest, so they can be run here. */
function collectSuite(createStorage: () => EventStorage): SuiteTest[] {
  const tests: SuiteTest[] = [];
  describeStorageConformance({
    name: "under test",
    createStorage,
    describe: (_, body) => body(),
    it: (name, body) => void tests.push({ name, body }),
    expect,
  });
  return tests;
}

async function failingTests(createStorage: () => EventStorage): Promise<string[]> {
  const failed: string[] = [];
  for (const test of collectSuite(createStorage)) {
    await test.body().catch(() => failed.push(test.name));
  }
  return failed;
}

function brokenStorage(overrides: (inner: EventStorage) => Partial<EventStorage>): () => EventStorage {
  return () => {
    const inner = memoryStorage();
    return {
      name: "broken",
      append: (events) => inner.append(events),
      get: (id) => inner.get(id),
      list: (query) => inner.list(query),
      close: () => inner.close(),
      ...overrides(inner),
    };
  };
}

describe("describeStorageConformance", () => {
  it("passes a correct adapter", async () => {
    expect(await failingTests(() => memoryStorage())).toEqual([]);
  });

  it.each<[string, (inner: EventStorage) => Partial<EventStorage>, string]>([
    [
      "ignores the session filter",
      (inner) => ({ list: ({ session_id: _, ...rest }: NormalizedEventQuery) => inner.list(rest) }),
      "applies each filter alone, returning exactly the matching events in append order",
    ],
    [
      "lists newest first",
      (inner) => ({ list: async (query) => (await inner.list(query)).reverse() }),
      "tails with `after` and pages back with `before`, always oldest to newest",
    ],
    [
      "hands out unfrozen copies",
      (inner) => ({ get: async (id) => structuredClone(await inner.get(id)) }),
      "returns deeply frozen events from get and list",
    ],
    [
      "reports duplicate ids as newly stored",
      (inner) => ({ append: async (events) => (await inner.append(events)).map(() => null) }),
      "reports per event which ids of a batch were already stored, and stores the rest",
    ],
    [
      "loses every 50th event",
      (inner) => {
        let count = 0;
        return { append: (events: readonly Event[]) => inner.append(events.filter(() => ++count % 50 !== 0)) };
      },
      "loses and duplicates nothing under 200 concurrent emits",
    ],
    [
      "answers an unknown cursor with an empty page",
      (inner) => ({ list: (query) => inner.list(query).catch(() => []) }),
      "rejects unknown cursor ids and both cursors at once with EventValidationError",
    ],
    [
      "ignores the limit",
      (inner) => ({ list: (query) => inner.list({ ...query, limit: 100_000 }) }),
      "returns the newest `limit` matches oldest to newest, 50 by default, up to 1000",
    ],
  ])("catches an adapter that %s", async (_, overrides, expectedFailure) => {
    expect(await failingTests(brokenStorage(overrides))).toContain(expectedFailure);
  });
});
