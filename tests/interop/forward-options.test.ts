import { describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError } from "../../src/index.js";
import { amqpSink } from "../../src/interop/amqp/index.js";
import {
  type EventSink,
  type ForwardedEvent,
  forwardEvents,
  fromCloudEvent,
  fromIabEvent,
} from "../../src/interop/index.js";
import { natsJetStreamSink } from "../../src/interop/nats/index.js";
import { until } from "../support/brokers.js";

/** A sink that keeps what it got, and fails while `down` is true (a broker outage). */
function memorySink() {
  const received: ForwardedEvent[] = [];
  const state = { down: false, failures: 0 };
  const sink: EventSink = {
    async send(batch) {
      if (state.down) {
        state.failures++;
        throw new Error("broker unreachable");
      }
      received.push(...batch);
    },
  };
  return { sink, received, state };
}

async function forwardAll(format: "event" | "cloudevents" | "iab") {
  const bus = new EventBus();
  const events: Event[] = [];
  for (const deal_id of ["d-1", "d-2"])
    events.push(await bus.emitEvent({ event_type: "approval.denied", deal_id, payload: { n: 1 } }));
  const { sink, received } = memorySink();
  const forwarder = forwardEvents(bus, sink, { name: `as-${format}`, format, source: "/seller/acme" });
  await until(() => forwarder.status().position === events[1]?.event_id, "the forwarder to send");
  await bus.close();
  return { events, received };
}

describe("forwardEvents", () => {
  it("sends each format's body with its content type", async () => {
    const plain = await forwardAll("event");
    expect(plain.received.map((item) => JSON.parse(item.body))).toEqual(plain.events);
    const cloud = await forwardAll("cloudevents");
    expect(cloud.received.map((item) => item.contentType)).toEqual([
      "application/cloudevents+json",
      "application/cloudevents+json",
    ]);
    expect(cloud.received.map((item) => fromCloudEvent(JSON.parse(item.body)))).toEqual(cloud.events);
    const iab = await forwardAll("iab");
    expect(iab.received.map((item) => JSON.parse(item.body).event_type)).toEqual([
      "approval.rejected",
      "approval.rejected",
    ]);
    expect(iab.received.map((item) => fromIabEvent(JSON.parse(item.body)))).toEqual(iab.events);
  });

  it("pauses while the sink fails and resumes where it stopped, in order, without losing an event", async () => {
    const bus = new EventBus();
    const { sink, received, state } = memorySink();
    const first = await bus.emitEvent({ event_type: "deal.created" });
    const forwarder = forwardEvents(bus, sink, { name: "flaky", retry: { initialDelayMs: 1, maxDelayMs: 5 } });
    await until(() => forwarder.status().position === first.event_id, "the first event to go");
    state.down = true;
    const during = [
      await bus.emitEvent({ event_type: "deal.synced" }),
      await bus.emitEvent({ event_type: "deal.synced" }),
    ];
    await until(() => state.failures >= 3, "a few failed sends");
    expect(forwarder.status()).toMatchObject({ state: "active", position: first.event_id });
    expect(forwarder.status().last_error).toMatch(/broker unreachable/);
    state.down = false;
    await until(() => forwarder.status().position === during[1]?.event_id, "the forwarder to catch up");
    expect(received.map((item) => item.event.event_id)).toEqual([first, ...during].map((event) => event.event_id));
    await bus.close();
  });

  it("takes every option of consume but handlerTimeoutMs, and checks them as consume does", async () => {
    const bus = new EventBus();
    const { sink } = memorySink();
    const controller = new AbortController();
    const forwarder = forwardEvents(bus, sink, {
      name: "all-options",
      query: { event_type: "deal.created" },
      from: "end",
      batchSize: 10,
      leaseMs: 5_000,
      retry: { attempts: 2 },
      onFailure: "skip",
      signal: controller.signal,
      onGap: "oldest",
    });
    expect(() => forwardEvents(bus, sink, { name: "x", handlerTimeoutMs: 10 } as never)).toThrow(/handlerTimeoutMs/);
    expect(() => forwardEvents(bus, sink, { name: "x", from: "beginning" })).toThrow(/from: must be "start", "end"/);
    await forwarder.stop();
    await bus.close();
  });

  it("refuses bad options naming each", () => {
    const bus = new EventBus();
    const { sink } = memorySink();
    expect(() => forwardEvents(bus, sink, { name: "x", fromat: "iab" } as never)).toThrow(/did you mean "format"/);
    expect(() => forwardEvents(bus, sink, { name: "x", format: "xml" as never })).toThrow(/format: must be/);
    expect(() => forwardEvents(bus, sink, { name: "x", format: "cloudevents" })).toThrow(/source: is required/);
    expect(() => forwardEvents(bus, {} as EventSink, { name: "x" })).toThrow(/sink: must be an object with a send/);
    expect(() => forwardEvents(bus, sink, { name: "" })).toThrow(EventValidationError);
    expect(() => forwardEvents(bus, sink, { name: "x", batchSize: 0 })).toThrow(/batchSize/);
    expect(() => forwardEvents(bus, sink, { name: "x", sendTimeoutMs: -1 })).toThrow(/sendTimeoutMs/);
    expect(() => natsJetStreamSink({ jetstream: {} as never })).toThrow(/jetstream: must be a JetStream client/);
    expect(() =>
      natsJetStreamSink({ jetstream: { publish: async () => ({}) } as never, subjet: () => "x" } as never),
    ).toThrow(/did you mean "subject"/);
    expect(() => amqpSink({ channel: {} as never, exchange: "x" })).toThrow(/channel: must be a confirm channel/);
    expect(() => amqpSink({ channel: () => ({}) as never, exchange: 7 as never })).toThrow(/exchange: must be/);
    // A throwing getter is named, never a raw TypeError.
    const hostile = Object.defineProperty({ exchange: "x" }, "channel", {
      enumerable: true,
      get: () => {
        throw new Error("boom");
      },
    });
    expect(() => amqpSink(hostile as never)).toThrow(EventValidationError);
    expect(() =>
      forwardEvents(
        bus,
        sink,
        Object.defineProperty({ name: "x" }, "format", {
          enumerable: true,
          get: () => {
            throw new Error("boom");
          },
        }) as never,
      ),
    ).toThrow(EventValidationError);
  });

  it("a subject function that gives a bad subject fails the batch, naming the event", async () => {
    const published: string[] = [];
    const jetstream = {
      publish: async (subject: string) => {
        published.push(subject);
        return { stream: "S", seq: published.length, duplicate: false };
      },
    };
    const bus = new EventBus();
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "has space" });
    const sink = natsJetStreamSink({ jetstream, subject: (item) => `deals.${item.deal_id}` });
    const forwarder = forwardEvents(bus, sink, { name: "bad-subject", retry: { attempts: 1 } });
    await forwarder.stopped;
    expect(forwarder.status().state).toBe("failed");
    expect(forwarder.status().last_error).toContain(event.event_id);
    expect(published).toEqual([]);
    await bus.close();
  });
});
