import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterEach, describe, expect, it } from "vitest";
import { type Event, EventBus } from "../../src/index.js";
import { forwardEvents } from "../../src/interop/index.js";
import { natsJetStreamSink } from "../../src/interop/nats/index.js";
import { natsStream, sqliteBusForForwarders, until } from "../support/brokers.js";
import { startForwarder } from "../support/forwarder-processes.js";
import { startPrivateNats } from "../support/private-nats.js";
import { NATS_URL, serviceAvailable } from "../support/services.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const DEALS = ["d-1", "d-2", "d-3", "d-4", "d-5"];

/** Emits `count` events round-robin over five deals, each deal's events numbered in its payload. */
async function emitDeals(bus: EventBus, count: number, from = 0): Promise<Event[]> {
  const events: Event[] = [];
  for (let index = from; index < from + count; index++) {
    const deal_id = DEALS[index % DEALS.length] as string;
    events.push(
      await bus.emitEvent({
        event_type: index % 7 === 0 ? "deal.created" : "negotiation.round",
        deal_id,
        payload: { index },
      }),
    );
  }
  return events;
}

describe("forwardEvents to NATS JetStream", () => {
  it("a stream holds every event once, in order, after its server is killed and restarted mid-forwarding", async () => {
    const nats = await startPrivateNats();
    if (nats === undefined) return;
    cleanups.push(() => nats.stop());
    const prefix = `fwd-restart-${process.pid}`;
    const stream = await natsStream(nats.url, prefix);
    const connection = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    cleanups.push(() => connection.close());
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const sink = natsJetStreamSink({
      jetstream: jetstream(connection, { timeout: 1000 }),
      subject: (event) => `${prefix}.${event.event_type}`,
    });
    const events = await emitDeals(bus, 200);
    const forwarder = forwardEvents(bus, sink, {
      name: "to-nats",
      batchSize: 10,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
    });

    await until(async () => (await stream.count()) >= 50, "50 events in the stream");
    await nats.kill();
    events.push(...(await emitDeals(bus, 100, 200)));
    // The outage is seen (a publish timed out or failed), forwarding pauses, and nothing is lost meanwhile.
    await until(() => forwarder.status().last_error !== null, "the forwarder to notice the outage");
    expect(forwarder.status().state).toBe("active");
    await nats.restart();
    const last = events.at(-1)?.event_id;
    await until(
      () => forwarder.status().position === last,
      "the forwarder to catch up",
      () => JSON.stringify(forwarder.status()),
    );

    const stored = await stream.read();
    expect(stored.map((message) => message.id)).toEqual(events.map((event) => event.event_id));
    expect(stored.map((message) => JSON.parse(message.body))).toEqual(events);
    expect(stored.map((message) => message.subject)).toEqual(events.map((event) => `${prefix}.${event.event_type}`));
  });

  it("a stream holds every event once, in order, when the forwarder process is SIGKILLed and another takes over", async () => {
    if (!(await serviceAvailable("NATS", NATS_URL))) return;
    const prefix = `fwd-kill-${process.pid}-${Date.now()}`;
    const stream = await natsStream(NATS_URL, prefix);
    cleanups.push(() => stream.drop());
    const { bus, path } = await sqliteBusForForwarders("forward-nats", cleanups);
    const events = await emitDeals(bus, 300);
    const config = {
      sqlite: path,
      broker: "nats",
      url: NATS_URL,
      prefix,
      name: "to-nats",
      batchSize: 10,
      pauseMs: 15,
    } as const;

    const first = startForwarder(config);
    cleanups.push(() => first.kill());
    await first.sent(100);
    await first.kill();
    const second = startForwarder(config);
    cleanups.push(() => second.kill());
    await second.sent(Number.POSITIVE_INFINITY, events.at(-1)?.event_id);

    const stored = await stream.read();
    expect(stored.map((message) => message.id)).toEqual(events.map((event) => event.event_id));
    expect(second.progress.sent).toBeLessThan(events.length); // it resumed; it did not start over
  });
});
