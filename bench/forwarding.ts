// Question: what does forwardEvents cost next to a bare publish loop of the same messages with acks/confirms? N stored
// events go to NATS JetStream (natsJetStreamSink: each publish awaits its ack, Nats-Msg-Id set) and to RabbitMQ
// (amqpSink: confirm channel, persistent, confirms awaited per batch of 100). The floors publish the same JSON bodies
// the same way in a plain loop, in the same run, to a stream / exchange of their own. Goal: >= 0.8x.
// Also (for information): the cost of withOpenTelemetry on emitEvent (memory store) with a no-op tracer and meter,
// and with the SDK recording every span into an in-memory exporter.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { trace } from "@opentelemetry/api";
import { AsyncHooksContextManager } from "@opentelemetry/context-async-hooks";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import amqplib from "amqplib";
import { type Event, EventBus } from "../src/index.js";
import { amqpSink } from "../src/interop/amqp/index.js";
import { type EventSink, forwardEvents } from "../src/interop/index.js";
import { natsJetStreamSink } from "../src/interop/nats/index.js";
import { withOpenTelemetry } from "../src/interop/otel/index.js";
import { measure, quick, type ResultRow, report, skip, speedRow, summarize, type Timing } from "./harness.js";

const QUESTION = "forwarding";
const EVENTS = quick ? 2_000 : 10_000;
const ROUNDS = quick ? 3 : 5;
const BATCH = 100;
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const AMQP_URL = process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

async function storedEvents(): Promise<{ bus: EventBus; events: Event[] }> {
  const bus = new EventBus();
  const events: Event[] = [];
  for (let index = 0; index < EVENTS; index += 500) {
    const inputs = Array.from({ length: Math.min(500, EVENTS - index) }, (_, offset) => ({
      event_type: "negotiation.round" as const,
      deal_id: `d-${(index + offset) % 50}`,
      payload: { round: index + offset, cpm: 11.5, note: "counter below floor" },
    }));
    events.push(...(await bus.emitEvents(inputs)));
  }
  return { bus, events };
}

/** Microseconds per event for forwarding every stored event through `sink`, until the checkpoint is at the last. */
async function timeForwarding(bus: EventBus, last: string, sink: EventSink, name: string): Promise<number> {
  const began = performance.now();
  let reached: () => void = () => {};
  const done = new Promise<void>((resolve) => (reached = resolve));
  const watching: EventSink = {
    async send(batch, context) {
      await sink.send(batch, context);
      if (batch.at(-1)?.event.event_id === last) reached();
    },
  };
  const forwarder = forwardEvents(bus, watching, { name, batchSize: BATCH });
  await done;
  await forwarder.stop(); // includes the last checkpoint write
  return ((performance.now() - began) * 1000) / EVENTS;
}

async function natsRow(): Promise<ResultRow | string> {
  const connection = await connect({ servers: NATS_URL }).catch((error: Error) => error);
  if (connection instanceof Error) return `NATS unreachable at ${NATS_URL}: ${connection.message}`;
  const manager = await jetstreamManager(connection);
  const client = jetstream(connection);
  const floor: number[] = [];
  const figure: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { bus, events } = await storedEvents();
    const prefix = `bench-fwd-${process.pid}-${round}`;
    for (const part of ["floor", "fwd"])
      await manager.streams.add({ name: `${prefix}-${part}`, subjects: [`${prefix}.${part}.>`] });
    const began = performance.now();
    for (const event of events) {
      await client.publish(`${prefix}.floor.${event.event_type}`, JSON.stringify(event), { msgID: event.event_id });
    }
    floor.push(((performance.now() - began) * 1000) / EVENTS);
    const sink = natsJetStreamSink({ jetstream: client, subject: (event) => `${prefix}.fwd.${event.event_type}` });
    figure.push(await timeForwarding(bus, events.at(-1)?.event_id as string, sink, "to-nats"));
    for (const part of ["floor", "fwd"]) await manager.streams.delete(`${prefix}-${part}`);
    await bus.close();
  }
  await connection.close();
  return speedRow(
    QUESTION,
    "NATS JetStream: forwardEvents + natsJetStreamSink (per event)",
    summarize("forward", figure),
    "publish loop, ack awaited per message",
    summarize("publish", floor),
    0.8,
  );
}

async function amqpRow(): Promise<ResultRow | string> {
  const connection = await amqplib.connect(AMQP_URL).catch((error: Error) => error);
  if (connection instanceof Error) return `RabbitMQ unreachable at ${AMQP_URL}: ${connection.message}`;
  const channel = await connection.createConfirmChannel();
  const floor: number[] = [];
  const figure: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { bus, events } = await storedEvents();
    const exchange = `bench-fwd-${process.pid}-${round}`;
    await channel.assertExchange(exchange, "topic", { durable: true });
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, "#");
    let began = performance.now();
    for (let index = 0; index < events.length; index += BATCH) {
      for (const event of events.slice(index, index + BATCH)) {
        const properties = {
          persistent: true,
          messageId: event.event_id,
          contentType: "application/json",
          type: event.event_type,
        };
        if (!channel.publish(exchange, event.event_type, Buffer.from(JSON.stringify(event)), properties)) {
          await new Promise((resolve) => channel.once("drain", resolve));
        }
      }
      await channel.waitForConfirms();
    }
    floor.push(((performance.now() - began) * 1000) / EVENTS);
    began = performance.now();
    figure.push(
      await timeForwarding(bus, events.at(-1)?.event_id as string, amqpSink({ channel, exchange }), "to-rabbitmq"),
    );
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    await bus.close();
  }
  await connection.close();
  return speedRow(
    QUESTION,
    "RabbitMQ: forwardEvents + amqpSink (per event)",
    summarize("forward", figure),
    `publish loop, confirms awaited per ${BATCH}`,
    summarize("publish", floor),
    0.8,
  );
}

async function otelRows(): Promise<ResultRow[]> {
  const contextManager = new AsyncHooksContextManager().enable();
  const { context } = await import("@opentelemetry/api");
  context.setGlobalContextManager(contextManager);
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider();
  const emit = (bus: EventBus) =>
    bus.emitEvent({ event_type: "negotiation.round", deal_id: "d-1", payload: { round: 1 } });
  const [plain, noop, recorded] = await measure([
    { name: "emitEvent", setup: () => new EventBus(), run: emit, teardown: (bus: EventBus) => bus.close() },
    {
      name: "withOpenTelemetry, no-op tracer",
      setup: () => withOpenTelemetry(new EventBus(), { tracer: trace.getTracer("noop") }),
      run: emit,
      teardown: (bus: EventBus) => bus.close(),
    },
    {
      name: "withOpenTelemetry, in-memory exporter",
      setup: () =>
        withOpenTelemetry(new EventBus(), {
          tracer: tracerProvider.getTracer("bench"),
          meter: meterProvider.getMeter("bench"),
        }),
      run: emit,
      teardown: async (bus: EventBus) => {
        await bus.close();
        exporter.reset();
      },
    },
  ] as never);
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  context.disable();
  const informational = (row: ResultRow): ResultRow => ({ ...row, target: "information", informational: true });
  return [
    informational(
      speedRow(
        QUESTION,
        "emitEvent with withOpenTelemetry, no-op tracer and meter",
        noop as Timing,
        "plain emitEvent (memory)",
        plain as Timing,
        0,
      ),
    ),
    informational(
      speedRow(
        QUESTION,
        "emitEvent with withOpenTelemetry, spans to an in-memory exporter",
        recorded as Timing,
        "plain emitEvent (memory)",
        plain as Timing,
        0,
      ),
    ),
  ];
}

const rows: ResultRow[] = [];
const notes = [
  `${EVENTS.toLocaleString("en")} events of ~200 bytes, ${ROUNDS} rounds, batchSize ${BATCH}, median µs per event`,
];
for (const row of [await natsRow(), await amqpRow()]) {
  if (typeof row === "string") notes.push(`skipped: ${row}`);
  else rows.push(row);
}
rows.push(...(await otelRows()));
if (rows.length === 0) await skip(QUESTION, notes.join("; "));
else await report(QUESTION, rows, notes);
