import type { Link, Meter, Tracer } from "@opentelemetry/api";
import { SpanKind } from "@opentelemetry/api";
import type { EventBus } from "../../bus/event-bus.js";
import type { Consumer } from "../../consumers/consumer.js";
import type { ConsumerHandler } from "../../consumers/consumer-options.js";
import type { Event } from "../../event/event.js";
import { MESSAGING_SYSTEM, traced } from "./otel-spans.js";
import { creationLink } from "./trace-context.js";

/** Most links one process span carries: a batch of 10,000 events must not make a 10,000-link span. */
const MAX_LINKS = 128;

/**
 * Wraps `bus.consume` on the instance: each handler call runs in a `process` span linked to its events' creation
 * contexts, and the bus's consumers report their lag, dead letters and throughput.
 */
export function instrumentConsumers(bus: EventBus, tracer: Tracer, meter: Meter): void {
  const consumers = new Map<Consumer, string>();
  const consumed = meter.createCounter("messaging.client.consumed.messages", {
    description: "Events handed to consumers",
    unit: "{message}",
  });
  const duration = meter.createHistogram("messaging.process.duration", {
    description: "Consumer handler time per batch",
    unit: "s",
  });
  const lag = meter.createObservableGauge("ad_seller_events.consumer.lag", {
    description: "Matching events a consumer has not handled yet",
    unit: "{message}",
  });
  lag.addCallback((result) => {
    for (const [consumer, name] of consumers) result.observe(consumer.status().lag, groupAttributes(name));
  });
  const deadLetters = meter.createObservableGauge("ad_seller_events.consumer.dead_letters", {
    description: "Events a consumer skipped after its last attempt",
    unit: "{message}",
  });
  deadLetters.addCallback(async (result) => {
    for (const [consumer, name] of consumers) {
      const letters = await consumer.deadLetters().catch(() => undefined);
      if (letters !== undefined) result.observe(letters.length, groupAttributes(name));
    }
  });
  const pending = meter.createObservableGauge("ad_seller_events.outbox.pending", {
    description: "Events waiting in the outbox",
    unit: "{message}",
  });
  pending.addCallback((result) => result.observe(bus.outboxStatus().pending, { "messaging.system": MESSAGING_SYSTEM }));

  const consume = bus.consume.bind(bus) as (name: string, handler: ConsumerHandler, options?: object) => Consumer;
  (bus as unknown as { consume: typeof consume }).consume = (name, handler, options) => {
    const attributes = groupAttributes(name);
    const tracedHandler: ConsumerHandler = (events, handlerContext) => {
      const links = events
        .slice(0, MAX_LINKS)
        .map(creationLink)
        .filter((link): link is Link => link !== undefined);
      const spanAttributes = {
        ...attributes,
        "messaging.operation.type": "process",
        "messaging.operation.name": "consume",
        "messaging.batch.message_count": events.length,
        ...single(events),
      };
      const started = performance.now();
      return traced(
        tracer,
        `process ${name}`,
        spanAttributes,
        async () => {
          try {
            return await handler(events, handlerContext);
          } finally {
            duration.record((performance.now() - started) / 1000, attributes);
          }
        },
        SpanKind.CONSUMER,
        links,
      ).then((result) => {
        consumed.add(events.length, attributes);
        return result;
      });
    };
    const consumer = consume(name, typeof handler === "function" ? tracedHandler : handler, options);
    consumers.set(consumer, name);
    void consumer.stopped.then(() => consumers.delete(consumer));
    return consumer;
  };
}

function groupAttributes(name: string): Record<string, string> {
  return { "messaging.system": MESSAGING_SYSTEM, "messaging.consumer.group.name": name };
}

/** For a batch of one, the event's id and type, as the conventions ask for single-message spans. */
function single(events: readonly Event[]): Record<string, string> {
  const [only] = events;
  return events.length === 1 && only !== undefined
    ? { "messaging.message.id": only.event_id, "messaging.destination.name": only.event_type }
    : {};
}
