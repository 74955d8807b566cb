import { afterEach, describe, expect, it, vi } from "vitest";
import { createEventsFetchHandler } from "../../src/http/index.js";
import {
  type BusErrorReport,
  EventBus,
  type EventBusOptions,
  type EventStorage,
  EventValidationError,
  memoryStorage,
} from "../../src/index.js";
import { forwardEvents } from "../../src/interop/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { createWebhookDispatcher, generateWebhookSecret } from "../../src/webhooks/index.js";
import { outboxFolder } from "../support/outbox.js";
import { switchableStorage } from "../support/switchable-storage.js";
import { startReceiver, waitFor } from "../webhooks/receiver.js";

type Source = BusErrorReport["source"];
/** A per-call handler under test: records its arguments, whatever the signature of the call it belongs to. */
type Own = (...args: unknown[]) => void;

/**
 * One source of errors: the bus it needs, and how to make errors happen on it (each scenario fails at least twice,
 * so that "once per source" is tested). `own` is the per-call `onError` to pass, when the test gives one. `happened`
 * tells, without any handler, that the errors did occur. Resources go to `cleanups`.
 */
interface Scenario {
  readonly source: Source;
  /** Whether reports of this source carry the event concerned. */
  readonly withEvent: boolean;
  /** The bus's options; `own` is given here where the per-call handler belongs to something the bus is built with. */
  options(own: Own | undefined): Promise<EventBusOptions>;
  start(bus: EventBus, own: Own | undefined): Promise<() => boolean | Promise<boolean>>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

/** A memory store whose reads (`list`) fail while `down`; everything else works. Counts the failed reads. */
function readFailingStorage() {
  const inner = memoryStorage();
  const state = { down: true, failedReads: 0 };
  const storage: EventStorage = {
    name: "read-failing",
    append: (events) => inner.append(events),
    get: (id) => inner.get(id),
    list: (query) => {
      if (!state.down) return inner.list(query);
      state.failedReads++;
      return Promise.reject(new Error("list: connection reset"));
    },
    close: () => inner.close(),
    checkpoints: inner.checkpoints,
  };
  return { storage, state };
}

const SCENARIOS: Scenario[] = [
  {
    source: "listener",
    withEvent: true,
    // The listeners' own handler is the bus's `onListenerError`.
    options: async (own) => (own === undefined ? {} : { onListenerError: own }),
    async start(bus) {
      bus.subscribe("deal.created", () => {
        throw new Error("listener broke");
      });
      await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
      await bus.emitEvent({ event_type: "deal.created", deal_id: "d-2" });
      return () => true;
    },
  },
  {
    source: "tail",
    withEvent: false,
    async options() {
      const { storage, state } = readFailingStorage();
      failing.set(storage, state);
      return { storage, closeStorage: true };
    },
    async start(bus, own) {
      const tail = bus.tail({}, own === undefined ? {} : { onError: own });
      void tail.next().catch(() => undefined);
      cleanups.push(() => tail.return?.() as Promise<unknown>);
      const state = failing.get(bus.storage) as { failedReads: number };
      return () => state.failedReads >= 2;
    },
  },
  {
    source: "consumer",
    withEvent: true,
    options: async () => ({}),
    async start(bus, own) {
      const consumer = bus.consume(
        "on-error-consumer",
        () => {
          throw new Error("handler broke");
        },
        { retry: { attempts: 1 }, onFailure: "skip", ...(own === undefined ? {} : { onError: own }) },
      );
      cleanups.push(() => consumer.stop());
      await bus.emitEvents([{ event_type: "deal.created" }, { event_type: "deal.created" }]);
      return async () => (await consumer.deadLetters()).length === 2;
    },
  },
  {
    source: "outbox",
    withEvent: false,
    async options(own) {
      const { path, remove } = await outboxFolder();
      cleanups.push(remove);
      const storage = switchableStorage("down");
      const outbox = fileOutbox({
        path,
        types: "all",
        retry: { initialDelayMs: 5, maxDelayMs: 10 },
        ...(own === undefined ? {} : { onError: own }),
      });
      return { storage, closeStorage: true, outbox };
    },
    async start(bus) {
      await bus.emitEvent({ event_type: "deal.created" });
      const storage = bus.storage as ReturnType<typeof switchableStorage>;
      return () => storage.appendCalls.length >= 3; // the emit, then two failed replays
    },
  },
  {
    source: "http",
    withEvent: false,
    async options() {
      const { storage } = readFailingStorage();
      return { storage, closeStorage: true };
    },
    async start(bus, own) {
      const handler = createEventsFetchHandler(bus, own === undefined ? {} : { onError: own });
      for (let request = 0; request < 2; request++) {
        const response = await handler(new Request("http://localhost/events"));
        expect(response?.status).toBe(503);
      }
      return () => true;
    },
  },
  {
    source: "webhook",
    withEvent: false,
    options: async () => ({}),
    async start(bus, own) {
      const receiver = await startReceiver(() => ({ status: 500 }));
      cleanups.push(() => receiver.close());
      const dispatcher = createWebhookDispatcher(bus, {
        allowPrivateNetworks: true,
        retry: { attempts: 1 },
        refreshMs: 50,
        leaseMs: 1_000,
        autoDisable: false,
        ...(own === undefined ? {} : { onError: own }),
      });
      cleanups.push(() => dispatcher.close());
      const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
      await bus.emitEvents([{ event_type: "deal.created" }, { event_type: "deal.created" }]);
      return async () => (await dispatcher.deliveries(id, { ok: false })).length >= 2;
    },
  },
  {
    source: "sink",
    withEvent: true,
    options: async () => ({}),
    async start(bus, own) {
      const sink = { send: () => Promise.reject(new Error("broker unreachable")) };
      const forwarder = forwardEvents(bus, sink, {
        name: "on-error-forwarder",
        retry: { attempts: 1 },
        onFailure: "skip",
        ...(own === undefined ? {} : { onError: own }),
      });
      cleanups.push(() => forwarder.stop());
      await bus.emitEvents([{ event_type: "deal.created" }, { event_type: "deal.created" }]);
      return async () => (await forwarder.deadLetters()).length === 2;
    },
  },
];

/** The failing reads of each read-failing store, by store. */
const failing = new WeakMap<EventStorage, { failedReads: number }>();
async function busFor(scenario: Scenario, onError?: (report: BusErrorReport) => void, own?: Own): Promise<EventBus> {
  const bus = new EventBus({ ...(await scenario.options(own)), ...(onError === undefined ? {} : { onError }) });
  cleanups.push(() => bus.close());
  return bus;
}

describe("the bus-level onError", () => {
  for (const scenario of SCENARIOS) {
    it(`receives { source: "${scenario.source}", error${scenario.withEvent ? ", event" : ""} } without a per-call onError`, async () => {
      const reports: BusErrorReport[] = [];
      const bus = await busFor(scenario, (report) => reports.push(report));
      await scenario.start(bus, undefined);
      // A failed batch of several events concerns none of them alone: reports with the event come from single ones.
      const wanted = (report: BusErrorReport) => !scenario.withEvent || report.event !== undefined;
      await waitFor(`a ${scenario.source} report`, () => reports.some(wanted));
      const report = reports.find(wanted);
      expect(report?.source).toBe(scenario.source);
      expect(report?.error).toBeInstanceOf(Error);
      if (scenario.withEvent) expect(report?.event?.event_type).toBe("deal.created");
      expect(reports.every((report) => report.source === scenario.source)).toBe(true);
    });

    it(`leaves ${scenario.source} errors to the per-call onError when one is given`, async () => {
      const reports: BusErrorReport[] = [];
      const calls: unknown[][] = [];
      const own: Own = (...args) => calls.push(args);
      const bus = await busFor(scenario, (report) => reports.push(report), own);
      const happened = await scenario.start(bus, own);
      await waitFor(`the ${scenario.source} per-call onError`, async () => calls.length >= 2 && (await happened()));
      const first = calls[0]?.[0] as { error?: unknown } | undefined;
      // Each call keeps its own signature: the error first, or (webhooks) a report holding it.
      expect(scenario.source === "webhook" ? first?.error : first).toBeInstanceOf(Error);
      expect(reports.filter((report) => report.source === scenario.source)).toEqual([]);
    });
  }

  it("writes nothing to the console without any handler but one warning line per source", async () => {
    const spies = (["log", "info", "debug", "error", "trace"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(() => {}),
    );
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const scenario of SCENARIOS) {
      const bus = await busFor(scenario);
      const happened = await scenario.start(bus, undefined);
      await waitFor(`${scenario.source} errors`, happened);
    }
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    const lines = warn.mock.calls.map((call) => {
      expect(call).toHaveLength(1);
      return call[0] as string;
    });
    expect(lines.map((line) => /^\[ad-seller-events\] (\w+) error: /.exec(line)?.[1]).sort()).toEqual(
      SCENARIOS.map((scenario) => scenario.source).sort(),
    );
    for (const line of lines) expect(line).not.toContain("\n");
  });

  it("turns a throwing bus handler into the one warning line instead of losing the error", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const bus = new EventBus({
      onError: () => {
        throw new Error("the logger is down");
      },
    });
    cleanups.push(() => bus.close());
    bus.subscribe("*", () => {
      throw new Error("listener broke");
    });
    await bus.emitEvent({ event_type: "deal.created" });
    await bus.emitEvent({ event_type: "deal.created" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/^\[ad-seller-events\] listener error: the logger is down/);
  });

  it("words a hostile thrown value in the warning line without throwing again", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const hostile = {
      toString() {
        throw new Error("toString trap");
      },
    };
    bus.subscribe("*", () => {
      throw hostile;
    });
    const event = await bus.emitEvent({ event_type: "deal.created" });
    expect(event.event_type).toBe("deal.created");
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/^\[ad-seller-events\] listener error: an exception that cannot be shown/);
  });

  it("is checked like every other option", () => {
    expect(() => new EventBus({ onError: "log" as never })).toThrow(EventValidationError);
    expect(() => new EventBus({ onError: "log" as never })).toThrow(/onError: must be a function/);
    expect(() => new EventBus({ onErorr: () => {} } as never)).toThrow(/did you mean "onError"/);
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    expect(() => bus.consume("c", () => {}, { onError: 1 as never })).toThrow(/onError: must be a function/);
    const sink = { send: async () => {} };
    expect(() => forwardEvents(bus, sink, { name: "f", onError: 1 as never })).toThrow(/onError: must be a function/);
    expect(() => fileOutbox({ path: "x.jsonl", onError: 1 as never })).toThrow(/onError: must be a function/);
  });
});
