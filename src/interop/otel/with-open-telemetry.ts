import { type Meter, metrics, type Span, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import type { EventBus } from "../../bus/event-bus.js";
import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import { readOwnFields } from "../../event/envelopes/foreign-event.js";
import type { EmitEventInput } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import type { EventStorage } from "../../storage/types.js";
import { instrumentConsumers } from "./otel-consumers.js";
import { MESSAGING_SYSTEM, traced } from "./otel-spans.js";
import { withTraceContext } from "./trace-context.js";

/**
 * Options of `withOpenTelemetry`: the tracer and meter to record with. Both default to the global providers'
 * (`trace.getTracer("ad-seller-events")`, `metrics.getMeter("ad-seller-events")`).
 *
 * @example
 * ```ts
 * const options: OpenTelemetryOptions = { tracer: provider.getTracer("seller-agent"), meter: meterProvider.getMeter("seller-agent") };
 * ```
 */
export interface OpenTelemetryOptions {
  readonly tracer?: Tracer | undefined;
  readonly meter?: Meter | undefined;
}

const OPTION_KEYS: OptionKeys<OpenTelemetryOptions> = { tracer: true, meter: true };
const instrumented = new WeakSet<object>();

/**
 * Instruments a bus with OpenTelemetry, in place, and returns it. At emit, the active trace context becomes the
 * event's creation context: a `send` span (kind PRODUCER) whose W3C `traceparent` (and `tracestate`) go into
 * `metadata`, unless the caller gave an `event_id` (a safe retry must repeat its content exactly) or its own
 * `traceparent`. Each store append is an `append` span under it; each consumer batch (and so each `forwardEvents`
 * batch) is a `process` span (kind CONSUMER) linked to every event's creation context. Spans follow the OpenTelemetry
 * messaging semantic conventions (`messaging.system`, `messaging.operation.type`, `messaging.destination.name` =
 * the event type, `messaging.message.id`, `messaging.batch.message_count`, `messaging.consumer.group.name`).
 *
 * Metrics: `messaging.client.sent.messages` (emitted events), `ad_seller_events.append.duration` (seconds),
 * `messaging.client.consumed.messages`, `messaging.process.duration` (seconds), `ad_seller_events.consumer.lag`,
 * `ad_seller_events.consumer.dead_letters` and `ad_seller_events.outbox.pending`.
 *
 * @example
 * ```ts
 * const bus = withOpenTelemetry(new EventBus({ storage }), { tracer: trace.getTracer("seller"), meter: metrics.getMeter("seller") });
 * ```
 */
export function withOpenTelemetry<Bus extends EventBus>(bus: Bus, options: OpenTelemetryOptions = {}): Bus {
  checkOptionKeys(options, OPTION_KEYS, "withOpenTelemetry");
  const read = readOwnFields(options, Object.keys(OPTION_KEYS), "withOpenTelemetry") as OpenTelemetryOptions;
  const tracer = read.tracer ?? trace.getTracer(MESSAGING_SYSTEM);
  const meter = read.meter ?? metrics.getMeter(MESSAGING_SYSTEM);
  if (typeof tracer?.startActiveSpan !== "function") {
    throw EventValidationError.forField("tracer", `must be an OpenTelemetry Tracer, got ${showValue(tracer)}`);
  }
  if (typeof meter?.createCounter !== "function") {
    throw EventValidationError.forField("meter", `must be an OpenTelemetry Meter, got ${showValue(meter)}`);
  }
  if (instrumented.has(bus)) throw EventValidationError.forField("bus", "is already instrumented by withOpenTelemetry");
  instrumented.add(bus);
  const sent = meter.createCounter("messaging.client.sent.messages", {
    description: "Events emitted and stored",
    unit: "{message}",
  });
  instrumentStorage(bus.storage, tracer, meter);
  const emitOne = bus.emitEvent.bind(bus);
  const emitMany = bus.emitEvents.bind(bus);
  const patched = bus as unknown as Record<"emitEvent" | "emitEvents", (input: unknown) => Promise<unknown>>;
  patched.emitEvent = (input) =>
    traced(tracer, `send ${typeName(input)}`, sendAttributes([input]), async (span) => {
      const event = (await emitOne(addContext(input, span) as never)) as { event_id: string; event_type: string };
      span.setAttribute("messaging.message.id", event.event_id);
      sent.add(1, { "messaging.system": MESSAGING_SYSTEM, "messaging.destination.name": event.event_type });
      return event;
    });
  patched.emitEvents = (inputs) => {
    const list = Array.isArray(inputs) ? (inputs as unknown[]) : [];
    return traced(
      tracer,
      "send",
      { ...sendAttributes(list), "messaging.batch.message_count": list.length },
      async (span) => {
        const events = (await emitMany(list.map((input) => addContext(input, span)) as never)) as {
          event_type: string;
        }[];
        for (const event of events)
          sent.add(1, { "messaging.system": MESSAGING_SYSTEM, "messaging.destination.name": event.event_type });
        return events;
      },
    );
  };
  instrumentConsumers(bus, tracer, meter);
  return bus;
}

function sendAttributes(inputs: readonly unknown[]): Record<string, string> {
  const attributes: Record<string, string> = {
    "messaging.system": MESSAGING_SYSTEM,
    "messaging.operation.type": "send",
    "messaging.operation.name": inputs.length === 1 ? "emitEvent" : "emitEvents",
  };
  const types = new Set(inputs.map(typeName));
  if (types.size === 1) attributes["messaging.destination.name"] = [...types][0] as string;
  return attributes;
}

function typeName(input: unknown): string {
  try {
    const type = (input as { event_type?: unknown } | null)?.event_type;
    return typeof type === "string" && type.length <= 64 ? type : "event";
  } catch {
    return "event";
  }
}

/** The emit input with the span's context in `metadata`; the caller's object is never changed. */
function addContext(input: unknown, span: Span): unknown {
  try {
    // A no-op tracer's span has no valid context: nothing to carry, so the input is not copied.
    if (!trace.isSpanContextValid(span.spanContext())) return input;
    if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
    const given = input as EmitEventInput;
    if (given.event_id !== undefined) return input;
    return { ...given, metadata: withTraceContext(given.metadata, span.spanContext()) };
  } catch {
    return input; // a hostile object: the bus's own validation reports it
  }
}

/** Wraps the store's `append` on its instance: a span and a latency histogram per call. Once per store. */
function instrumentStorage(storage: EventStorage, tracer: Tracer, meter: Meter): void {
  if (instrumented.has(storage)) return;
  const duration = meter.createHistogram("ad_seller_events.append.duration", {
    description: "Store append latency",
    unit: "s",
  });
  const append = storage.append.bind(storage);
  const attributes = { "messaging.system": MESSAGING_SYSTEM, "db.system.name": storage.name };
  try {
    Object.defineProperty(storage, "append", {
      configurable: true,
      writable: true,
      value: (events: Parameters<EventStorage["append"]>[0]) => {
        const started = performance.now();
        return traced(
          tracer,
          `append ${storage.name}`,
          { ...attributes, "messaging.batch.message_count": events.length },
          async () => {
            try {
              return await append(events);
            } finally {
              duration.record((performance.now() - started) / 1000, attributes);
            }
          },
          SpanKind.CLIENT,
        );
      },
    });
    instrumented.add(storage);
  } catch {
    // A frozen store object cannot be wrapped: emits are still traced, appends are not timed on their own.
  }
}
