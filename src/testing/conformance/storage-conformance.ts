import { EventBus } from "../../bus/event-bus.js";
import { EventConflictError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import type { EventStorage } from "../../storage/types.js";
import { createTestClock } from "../test-clock.js";
import { defineCheckpointConformance } from "./checkpoints.js";
import { defineClosedConformance } from "./closed.js";
import { defineConflictConformance } from "./conflicts.js";
import { defineDigestConformance } from "./digests.js";
import {
  buildEvent,
  type ConformanceDescribe,
  type ConformanceExpect,
  type ConformanceIt,
  idsOf,
  isDeeplyFrozen,
  rejectionOf,
  seed,
} from "./fixtures.js";
import { definePruneConformance } from "./prune.js";
import { definePruneHoldConformance } from "./prune-holds.js";
import { defineQueryConformance } from "./queries.js";
import { defineWatchConformance } from "./watch.js";
import { defineWebhookConformance } from "./webhooks.js";

/**
 * Options of {@link describeStorageConformance}.
 *
 * @example
 * ```ts
 * const options: StorageConformanceOptions = { name: "memory", createStorage: () => memoryStorage(), describe, it, expect };
 * ```
 */
export interface StorageConformanceOptions {
  /** Names the suite, e.g. `"postgres"`. */
  readonly name: string;
  /** Returns a new, empty store that no other test uses (a fresh table, file or key prefix). */
  readonly createStorage: () => EventStorage | Promise<EventStorage>;
  /**
   * For durable adapters: given a store the suite has closed, returns a new store over the same data through a new
   * client. When absent, the reopen tests are not defined.
   */
  readonly reopen?: ((closed: EventStorage) => EventStorage | Promise<EventStorage>) | undefined;
  /** vitest's (or jest's) `describe`. */
  readonly describe: ConformanceDescribe;
  /** vitest's (or jest's) `it`. */
  readonly it: ConformanceIt;
  /** vitest's (or jest's) `expect`. */
  readonly expect: ConformanceExpect;
  /** The store implements the optional `watch` capability: run its cases. Default: `false`. */
  readonly watch?: boolean | undefined;
  /**
   * With `watch`: given a store the suite made, a second store over the same data through its own client or
   * connection (as another process would open it), to check that its appends wake the first store's watchers.
   */
  readonly peer?: ((storage: EventStorage) => EventStorage | Promise<EventStorage>) | undefined;
  /**
   * Feature switch: the store implements the optional `checkpoints` capability (consumers' checkpoints, leases and
   * dead letters), so run its cases. Default: `false`.
   */
  readonly checkpoints?: boolean | undefined;
  /** The store implements the optional `webhooks` capability (subscriptions, delivery log): run its cases. */
  readonly webhooks?: boolean | undefined;
  /** The store implements `prune` (retention): run the prune and gap cases. Default: `false`. */
  readonly prune?: boolean | undefined;
  /** The store implements the optional `digests` capability (audit-trail records): run its cases. Default: `false`. */
  readonly digests?: boolean | undefined;
  /** Timeout of each test in milliseconds. Default: 30000. */
  readonly timeoutMs?: number | undefined;
}

/** What each conformance test gets: a fresh store, a bus over it with a stepping clock. */
export interface ConformanceContext {
  readonly storage: EventStorage;
  readonly bus: EventBus;
}

/** Runs `body` against a fresh store and always closes both bus and store. */
export type WithStore = (body: (context: ConformanceContext) => Promise<void>) => Promise<void>;

/**
 * Defines the adapter conformance suite: the behaviour every `EventStorage` must have (round trip, deep freeze,
 * filters, limits, windows, ordering, duplicates, concurrency, payload fidelity, durability). Call it from a
 * test file with your runner's `describe`, `it` and `expect`.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from "vitest";
 * import { memoryStorage } from "ad-seller-events";
 * import { describeStorageConformance } from "ad-seller-events/testing";
 *
 * describeStorageConformance({ name: "memory", createStorage: () => memoryStorage(), describe, it, expect });
 * ```
 */
export function describeStorageConformance(options: StorageConformanceOptions): void {
  const { describe, it, expect } = options;
  const timeout = options.timeoutMs ?? 30_000;
  const withStore: WithStore = async (body) => {
    const storage = await options.createStorage();
    const bus = new EventBus({ storage, now: createTestClock({ stepMs: 1 }).now });
    try {
      await body({ storage, bus });
    } finally {
      await bus.close();
      await storage.close();
    }
  };

  describe(`EventStorage conformance: ${options.name}`, () => {
    defineRoundTripConformance(it, expect, withStore, timeout);
    defineWriteConformance(it, expect, withStore, timeout);
    defineConflictConformance(it, expect, withStore, timeout);
    defineQueryConformance(it, expect, withStore, timeout);
    if (options.reopen) defineReopenConformance(options, timeout);
    defineClosedConformance({
      it,
      expect,
      createStorage: options.createStorage,
      checkpoints: options.checkpoints === true,
      prune: options.prune === true,
      timeout,
    });
    if (options.watch === true) {
      const { createStorage, peer } = options;
      defineWatchConformance({ it, expect, createStorage, peer, timeout });
    }
    if (options.checkpoints === true) defineCheckpointConformance(it, expect, withStore, timeout);
    if (options.prune === true) {
      definePruneConformance(it, expect, withStore, timeout);
      definePruneHoldConformance(it, expect, withStore, timeout, options.checkpoints === true);
    }
    if (options.webhooks === true) defineWebhookConformance(it, expect, withStore, timeout);
    if (options.digests === true) defineDigestConformance(it, expect, withStore, timeout);
  });
}

function defineRoundTripConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
) {
  it(
    "stores an event and returns it unchanged from getEvent and listEvents",
    async () => {
      await withStore(async ({ bus }) => {
        const emitted = await bus.emitEvent({
          event_type: "deal.created",
          flow_id: "flow-1",
          flow_type: "proposal_handling",
          proposal_id: "proposal-1",
          deal_id: "deal-1",
          session_id: "session-1",
          payload: { cpm: 12.5, currency: "USD", tiers: [1, 2, 3] },
          metadata: { agent: "seller-7", version: "1.2.0" },
        });
        expect(await bus.getEvent(emitted.event_id)).toEqual(emitted);
        expect(await bus.listEvents({ deal_id: "deal-1" })).toEqual([emitted]);
      });
    },
    timeout,
  );

  it(
    "returns deeply frozen events from get and list",
    async () => {
      await withStore(async ({ bus }) => {
        const emitted = await bus.emitEvent({
          event_type: "proposal.received",
          payload: { lines: [{ sku: "banner", floors: [1, 2] }] },
          metadata: { tags: ["a"] },
        });
        const fetched = await bus.getEvent(emitted.event_id);
        const [listed] = await bus.listEvents();
        expect(isDeeplyFrozen(fetched)).toBe(true);
        expect(isDeeplyFrozen(listed)).toBe(true);
        expect(Object.isFrozen(fetched?.payload)).toBe(true);
      });
    },
    timeout,
  );

  it(
    "keeps the exact timestamp string with its milliseconds",
    async () => {
      await withStore(async ({ bus }) => {
        const emitted = await bus.emitEvent({ event_type: "session.created", timestamp: "2026-11-24T10:15:30.123456" });
        expect(emitted.timestamp).toBe("2026-11-24T10:15:30.123Z");
        expect((await bus.getEvent(emitted.event_id))?.timestamp).toBe("2026-11-24T10:15:30.123Z");
      });
    },
    timeout,
  );

  it(
    "round-trips unicode, nested arrays, large and fractional numbers, and ids with wildcard characters",
    async () => {
      await withStore(async ({ bus }) => {
        const payload = {
          text: 'Ünïcödé ✓ 日本語 עברית 🚀 \u2028 "quoted" \\ back',
          nested: [[1, [2, [3, [4]]]], [], [{}], [{ deep: [null, true, false] }]],
          max_safe: Number.MAX_SAFE_INTEGER,
          huge: 1e308,
          tiny: 5e-324,
          negative: -123456789.125,
          fraction: 0.1,
          "key with spaces / and ünïcode": "value",
        };
        const emitted = await bus.emitEvent({ event_type: "package.updated", flow_id: "flow_%'\";--", payload });
        expect((await bus.getEvent(emitted.event_id))?.payload).toEqual(payload);
        expect(idsOf(await bus.listEvents({ flow_id: "flow_%'\";--" }))).toEqual([emitted.event_id]);
        expect(await bus.listEvents({ flow_id: "flow_%" })).toEqual([]);
      });
    },
    timeout,
  );

  it(
    "answers null for unknown and malformed ids",
    async () => {
      await withStore(async ({ bus }) => {
        await bus.emitEvent({ event_type: "session.created" });
        expect(await bus.getEvent(crypto.randomUUID())).toBeNull();
        expect(await bus.getEvent("not-a-uuid")).toBeNull();
        expect(await bus.getEvent("")).toBeNull();
      });
    },
    timeout,
  );
}

function defineWriteConformance(it: ConformanceIt, expect: ConformanceExpect, withStore: WithStore, timeout: number) {
  it(
    "returns the stored event when the same id is emitted again with the same content",
    async () => {
      await withStore(async ({ bus }) => {
        const event_id = crypto.randomUUID();
        const input = {
          event_id,
          event_type: "deal.registered",
          deal_id: "deal-9",
          payload: { a: 1, b: [2] },
        } as const;
        const first = await bus.emitEvent(input);
        const retry = await bus.emitEvent({ ...input, payload: { b: [2], a: 1 } });
        expect(retry).toEqual(first);
        expect(idsOf(await bus.listEvents())).toEqual([event_id]);
      });
    },
    timeout,
  );

  it(
    "rejects the same id with different content as a conflict and keeps the stored event",
    async () => {
      await withStore(async ({ bus }) => {
        const event_id = crypto.randomUUID();
        const first = await bus.emitEvent({ event_id, event_type: "deal.synced", deal_id: "deal-1" });
        const error = await rejectionOf(bus.emitEvent({ event_id, event_type: "deal.synced", deal_id: "deal-2" }));
        expect(error).toBeInstanceOf(EventConflictError);
        expect((error as EventConflictError).differingFields).toEqual(["deal_id"]);
        const timestampClash = rejectionOf(
          bus.emitEvent({ event_id, event_type: "deal.synced", deal_id: "deal-1", timestamp: "2001-01-01T00:00:00Z" }),
        );
        expect(await timestampClash).toBeInstanceOf(EventConflictError);
        expect(await bus.listEvents()).toEqual([first]);
      });
    },
    timeout,
  );

  it(
    "reports per event which ids of a batch were already stored, and stores the rest",
    async () => {
      await withStore(async ({ storage }) => {
        const [first, second, third] = [buildEvent(1), buildEvent(2), buildEvent(3)] as [Event, Event, Event];
        expect(await storage.append([first])).toEqual([null]);
        const retried = Object.freeze({ ...first, payload: Object.freeze({ changed: true }) });
        expect(await storage.append([second, retried, third, second])).toEqual([null, first, null, second]);
        const listed = await storage.list({ limit: 10 });
        expect(idsOf(listed)).toEqual(idsOf([first, second, third]));
        expect(listed[0]).toEqual(first);
      });
    },
    timeout,
  );

  it(
    "loses and duplicates nothing under 200 concurrent emits",
    async () => {
      await withStore(async ({ bus }) => {
        const emitted = await Promise.all(
          Array.from({ length: 200 }, (_, index) =>
            bus.emitEvent({
              event_type: index % 2 === 0 ? "negotiation.round" : "proposal.countered",
              flow_id: `flow-${index % 4}`,
              session_id: `session-${index % 5}`,
              payload: { index },
            }),
          ),
        );
        const all = await bus.listEvents({ limit: 1000 });
        expect(all).toHaveLength(200);
        expect(new Set(idsOf(all)).size).toBe(200);
        expect(new Set(idsOf(all))).toEqual(new Set(idsOf(emitted)));
        for (const [field, values] of [
          ["flow_id", ["flow-0", "flow-1", "flow-2", "flow-3"]],
          ["session_id", ["session-0", "session-1", "session-2", "session-3", "session-4"]],
        ] as const) {
          for (const value of values) {
            const expected = all.filter((event) => event[field] === value);
            expect(idsOf(await bus.listEvents({ [field]: value, limit: 1000 }))).toEqual(idsOf(expected));
          }
        }
        const rounds = all.filter((event) => event.event_type === "negotiation.round");
        expect(idsOf(await bus.listEvents({ event_type: "negotiation.round", limit: 1000 }))).toEqual(idsOf(rounds));
        expect(idsOf(await tailFrom(bus, all[0] as Event, 7))).toEqual(idsOf(all.slice(1)));
      });
    },
    timeout,
  );

  it(
    "lists in append order even when caller-given timestamps go backwards",
    async () => {
      await withStore(async ({ bus }) => {
        const late = await bus.emitEvent({ event_type: "session.created", timestamp: "2026-05-01T00:00:00Z" });
        const early = await bus.emitEvent({ event_type: "session.resumed", timestamp: "2020-05-01T00:00:00Z" });
        const now = await bus.emitEvent({ event_type: "session.closed" });
        expect(idsOf(await bus.listEvents())).toEqual(idsOf([late, early, now]));
        // The test clock starts at 2026-01-01, so `now` sits between the two given timestamps.
        expect(idsOf(await bus.listEvents({ since: "2026-01-01T00:00:00Z" }))).toEqual(idsOf([late, now]));
        expect(idsOf(await bus.listEvents({ until: "2026-01-01T00:00:00Z" }))).toEqual(idsOf([early]));
      });
    },
    timeout,
  );
}

function defineReopenConformance(options: StorageConformanceOptions, timeout: number) {
  const { it, expect } = options;
  const reopen = options.reopen as NonNullable<StorageConformanceOptions["reopen"]>;
  it(
    "reads back every event identical after close and reopen, and keeps appending in order",
    async () => {
      const storage = await options.createStorage();
      const written = Array.from({ length: 30 }, (_, index) =>
        buildEvent(index, { session_id: `session-${index % 3}`, payload: { index, text: "ü🚀" } }),
      );
      await seed((batch) => storage.append(batch), written, 7);
      await storage.close();
      const reopened = await reopen(storage);
      try {
        expect(await reopened.list({ limit: 1000 })).toEqual(written);
        expect(await reopened.get((written[4] as Event).event_id)).toEqual(written[4]);
        expect(await reopened.list({ session_id: "session-1", limit: 1000 })).toEqual(
          written.filter((event) => event.session_id === "session-1"),
        );
        const next = buildEvent(99);
        await reopened.append([next]);
        const tail = await reopened.list({ after: (written.at(-1) as Event).event_id, limit: 10 });
        expect(tail).toEqual([next]);
      } finally {
        await reopened.close();
      }
    },
    timeout,
  );
}

async function tailFrom(bus: EventBus, start: Event, pageSize: number): Promise<Event[]> {
  const seen: Event[] = [];
  let cursor = start.event_id;
  for (;;) {
    const page = await bus.listEvents({ after: cursor, limit: pageSize });
    seen.push(...page);
    const last = page.at(-1);
    if (last === undefined) return seen;
    cursor = last.event_id;
  }
}
