import { context, type Meter, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";
import { AsyncHooksContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError } from "../../src/index.js";
import { type EventSink, forwardEvents } from "../../src/interop/index.js";
import { withOpenTelemetry } from "../../src/interop/otel/index.js";
import { until } from "../support/brokers.js";

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncHooksContextManager();
let tracer: Tracer;
let meter: Meter;

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  tracer = tracerProvider.getTracer("seller-agent");
  meter = meterProvider.getMeter("seller-agent");
});
afterAll(async () => {
  context.disable();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});
beforeEach(() => spans.reset());

const finished = (name: string) => spans.getFinishedSpans().filter((span) => span.name === name);

/** Every data point of a metric, as [attributes, value] pairs, from one collection through the in-memory exporter. */
async function points(name: string): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  metricExporter.reset();
  await reader.forceFlush();
  const metric = metricExporter
    .getMetrics()
    .at(-1)
    ?.scopeMetrics.flatMap((scope) => scope.metrics)
    .find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value }));
}

describe("withOpenTelemetry", () => {
  it("emit: a PRODUCER send span under the caller's span, its context in metadata.traceparent, an append span under it", async () => {
    const bus = withOpenTelemetry(new EventBus(), { tracer, meter });
    const event = await tracer.startActiveSpan("POST /deals", async (request) => {
      try {
        return await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
      } finally {
        request.end();
      }
    });
    const [send] = finished("send deal.created");
    const [append] = finished("append memory");
    const [request] = finished("POST /deals");
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.attributes).toMatchObject({
      "messaging.system": "ad-seller-events",
      "messaging.operation.type": "send",
      "messaging.destination.name": "deal.created",
      "messaging.message.id": event.event_id,
    });
    expect(send?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(event.metadata.traceparent).toBe(`00-${send?.spanContext().traceId}-${send?.spanContext().spanId}-01`);
    expect(append?.kind).toBe(SpanKind.CLIENT);
    expect(append?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect((await bus.getEvent(event.event_id))?.metadata.traceparent).toBe(event.metadata.traceparent);
    await bus.close();
  });

  it("keeps a caller's traceparent, and adds none to an emit with its own event_id (a retry must repeat its content)", async () => {
    const bus = withOpenTelemetry(new EventBus(), { tracer, meter });
    const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const kept = await bus.emitEvent({ event_type: "deal.synced", metadata: { traceparent: own } });
    expect(kept.metadata.traceparent).toBe(own);
    const input = { event_type: "deal.synced", event_id: crypto.randomUUID() } as const;
    const first = await bus.emitEvent(input);
    expect(first.metadata).toEqual({});
    expect(await bus.emitEvent(input)).toEqual(first); // the safe retry still works
    await bus.close();
  });

  it("consumers: a CONSUMER process span per batch, linked to each event's creation context, active in the handler", async () => {
    const bus = withOpenTelemetry(new EventBus(), { tracer, meter });
    const events = await bus.emitEvents([
      { event_type: "negotiation.round", deal_id: "d-1" },
      { event_type: "negotiation.round", deal_id: "d-2" },
    ]);
    const sendSpan = finished("send")[0];
    let activeInHandler: string | undefined;
    const consumer = bus.consume("crm", (batch: readonly Event[]) => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
      return batch.length;
    });
    await until(() => consumer.status().position === events[1]?.event_id, "the consumer to handle both");
    await consumer.stop();
    const [process] = finished("process crm");
    expect(process?.kind).toBe(SpanKind.CONSUMER);
    expect(process?.attributes).toMatchObject({
      "messaging.operation.type": "process",
      "messaging.consumer.group.name": "crm",
      "messaging.batch.message_count": 2,
    });
    expect(process?.links.map((link) => link.context.spanId)).toEqual([
      sendSpan?.spanContext().spanId,
      sendSpan?.spanContext().spanId,
    ]);
    expect(process?.links.map((link) => link.attributes?.["messaging.message.id"])).toEqual(
      events.map((event) => event.event_id),
    );
    expect(activeInHandler).toBe(process?.spanContext().spanId);
    await bus.close();
  });

  it("forwardEvents batches are process spans too, and a failing send is recorded as an error", async () => {
    const bus = withOpenTelemetry(new EventBus(), { tracer, meter });
    const event = await bus.emitEvent({ event_type: "deal.created" });
    let calls = 0;
    const flaky: EventSink = {
      async send() {
        if (++calls === 1) throw new Error("broker down");
      },
    };
    const forwarder = forwardEvents(bus, flaky, { name: "to-broker", retry: { initialDelayMs: 1, maxDelayMs: 1 } });
    await until(() => forwarder.status().position === event.event_id, "the forwarder to send");
    await forwarder.stop();
    const processed = finished("process to-broker");
    expect(processed.map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(processed[0]?.events.some((spanEvent) => spanEvent.name === "exception")).toBe(true);
    await bus.close();
  });

  it("metrics: emitted events, append latency, consumed events, consumer lag and dead letters", async () => {
    const bus = withOpenTelemetry(new EventBus(), { tracer, meter });
    const events = await bus.emitEvents([
      { event_type: "deal.created" },
      { event_type: "deal.created" },
      { event_type: "deal.synced" },
    ]);
    const poison = events[1]?.event_id;
    const consumer = bus.consume(
      "warehouse",
      (batch: readonly Event[]) => {
        if (batch.some((event) => event.event_id === poison)) throw new Error("poison");
      },
      { onFailure: "skip", retry: { attempts: 1 } },
    );
    await until(() => consumer.status().position === events[2]?.event_id, "the consumer to pass the poison event");
    const sent = await points("messaging.client.sent.messages");
    const byType = (type: string) =>
      sent
        .filter((point) => point.attributes["messaging.destination.name"] === type)
        .reduce((sum, point) => sum + Number(point.value), 0);
    expect([byType("deal.created") >= 2, byType("deal.synced") >= 1]).toEqual([true, true]);
    const appendDurations = await points("ad_seller_events.append.duration");
    expect(appendDurations.some((point) => (point.value as { count: number }).count >= 1)).toBe(true);
    const group = (name: string) => async () =>
      (await points(name)).find((point) => point.attributes["messaging.consumer.group.name"] === "warehouse")?.value;
    expect(await group("ad_seller_events.consumer.dead_letters")()).toBe(1);
    expect(await group("ad_seller_events.consumer.lag")()).toBe(0);
    expect(await group("messaging.client.consumed.messages")()).toBe(2);
    await consumer.stop();
    // A consumer still behind shows its lag: this one holds its first batch of one until released.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = bus.consume("slow", () => held, { batchSize: 1 });
    const slowLag = async () =>
      (await points("ad_seller_events.consumer.lag")).find(
        (point) => point.attributes["messaging.consumer.group.name"] === "slow",
      )?.value;
    await until(async () => Number(await slowLag()) > 0, "the slow consumer's lag to show");
    release();
    await slow.stop();
    await bus.close();
  });

  it("refuses unknown options, a non-tracer and instrumenting twice", () => {
    const bus = new EventBus();
    expect(() => withOpenTelemetry(bus, { tracer, metre: meter } as never)).toThrow(/did you mean "meter"/);
    expect(() => withOpenTelemetry(bus, { tracer: {} as Tracer })).toThrow(EventValidationError);
    withOpenTelemetry(bus, { tracer, meter });
    expect(() => withOpenTelemetry(bus, { tracer, meter })).toThrow(/already instrumented/);
  });
});
