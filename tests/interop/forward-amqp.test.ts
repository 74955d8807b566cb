import amqplib, { type ChannelModel, type ConfirmChannel } from "amqplib";
import { afterEach, describe, expect, it } from "vitest";
import { type Event, EventBus } from "../../src/index.js";
import { amqpSink } from "../../src/interop/amqp/index.js";
import { forwardEvents } from "../../src/interop/index.js";
import { amqpQueue, firstCopies, sqliteBusForForwarders, until } from "../support/brokers.js";
import { startForwarder } from "../support/forwarder-processes.js";
import { AMQP_URL, serviceAvailable } from "../support/services.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emitDeals(bus: EventBus, count: number, from = 0): Promise<Event[]> {
  const events: Event[] = [];
  for (let index = from; index < from + count; index++) {
    events.push(
      await bus.emitEvent({ event_type: "negotiation.round", deal_id: `d-${index % 5}`, payload: { index } }),
    );
  }
  return events;
}

/**
 * A confirm channel opened through `url` on demand and again after its connection died: what an application with
 * a reconnecting AMQP client hands `amqpSink` as `channel`.
 */
function reconnectingChannel(url: string) {
  let open: Promise<{ connection: ChannelModel; channel: ConfirmChannel }> | undefined;
  const provider = async () => {
    open ??= (async () => {
      const connection = await amqplib.connect(url);
      const channel = await connection.createConfirmChannel();
      const forget = () => {
        open = undefined;
      };
      connection.on("error", forget);
      connection.on("close", forget);
      channel.on("error", forget);
      channel.on("close", forget);
      return { connection, channel };
    })().catch((error: unknown) => {
      open = undefined;
      throw error;
    });
    return (await open).channel;
  };
  const close = async () => {
    const current = await open?.catch(() => undefined);
    await current?.connection.close().catch(() => {});
  };
  return { provider, close };
}

describe("forwardEvents to RabbitMQ", () => {
  it("a queue gets every event, in order of first copies, after the connection to the broker is cut mid-forwarding", async () => {
    if (!(await serviceAvailable("RabbitMQ", AMQP_URL))) return;
    const target = new URL(AMQP_URL);
    // Not a private RabbitMQ node (minutes of Erlang boot): the outage is a TCP proxy cut between sink and broker.
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => proxy.close());
    const name = `fwd-cut-${process.pid}-${Date.now()}`;
    const queue = await amqpQueue(AMQP_URL, name);
    cleanups.push(() => queue.drop());
    const proxied = new URL(AMQP_URL);
    proxied.port = String(proxy.port);
    const channel = reconnectingChannel(proxied.toString());
    cleanups.push(() => channel.close());
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const events = await emitDeals(bus, 200);
    const forwarder = forwardEvents(bus, amqpSink({ channel: channel.provider, exchange: name }), {
      name: "to-rabbitmq",
      batchSize: 10,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      sendTimeoutMs: 2000,
    });

    await until(() => queue.received.length >= 50, "50 messages in the queue");
    proxy.cut();
    events.push(...(await emitDeals(bus, 100, 200)));
    await until(() => forwarder.status().last_error !== null, "the forwarder to notice the outage");
    proxy.restore();
    const last = events.at(-1)?.event_id;
    await until(
      () => forwarder.status().position === last,
      "the forwarder to catch up",
      () => JSON.stringify(forwarder.status()),
    );
    await until(() => queue.received.at(-1)?.id === last, "the last message to arrive");

    const { ids, repeats } = firstCopies(queue.received);
    expect(ids).toEqual(events.map((event) => event.event_id));
    expect(repeats).toBeLessThanOrEqual(10); // only the batch in flight at the cut is sent again
    const byId = new Map(events.map((event) => [event.event_id, event]));
    for (const message of queue.received) {
      expect(JSON.parse(message.body)).toEqual(byId.get(message.id));
      expect(message).toMatchObject({
        persistent: true,
        contentType: "application/json",
        subject: "negotiation.round",
      });
    }
  });

  it("a queue gets every event, in order of first copies, when the forwarder process is SIGKILLed and another takes over", async () => {
    if (!(await serviceAvailable("RabbitMQ", AMQP_URL))) return;
    const name = `fwd-kill-${process.pid}-${Date.now()}`;
    const queue = await amqpQueue(AMQP_URL, name);
    cleanups.push(() => queue.drop());
    const { bus, path } = await sqliteBusForForwarders("forward-amqp", cleanups);
    const events = await emitDeals(bus, 300);
    const config = {
      sqlite: path,
      broker: "amqp",
      url: AMQP_URL,
      prefix: name,
      name: "to-rabbitmq",
      batchSize: 10,
      pauseMs: 15,
    } as const;

    const first = startForwarder(config);
    cleanups.push(() => first.kill());
    await first.sent(100);
    await first.kill();
    const second = startForwarder(config);
    cleanups.push(() => second.kill());
    const last = events.at(-1)?.event_id;
    await second.sent(Number.POSITIVE_INFINITY, last);
    await until(() => queue.received.at(-1)?.id === last, "the last message to arrive");

    const { ids, repeats } = firstCopies(queue.received);
    expect(ids).toEqual(events.map((event) => event.event_id));
    expect(repeats).toBeLessThanOrEqual(10);
  });
});
