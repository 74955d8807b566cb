import { reporterOf } from "../../bus/bus-errors.js";
import type { EventBus } from "../../bus/event-bus.js";
import type { Consumer } from "../../consumers/consumer.js";
import {
  type ConsumeOptions,
  type ConsumerRetryOptions,
  DURABLE_READER_OPTION_KEYS,
} from "../../consumers/consumer-options.js";
import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import { cloudEventOf, readSource } from "../../event/envelopes/cloud-event.js";
import { readOwnFields } from "../../event/envelopes/foreign-event.js";
import { toIabEvent } from "../../event/envelopes/iab-event.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";

/**
 * One event on its way to a broker: the event itself (for subjects, routing keys and message ids) and the message
 * body in the chosen format.
 *
 * @example
 * ```ts
 * const sink: EventSink = { send: async (batch) => { for (const { event, body } of batch) await queue.put(event.event_id, body); } };
 * ```
 */
export interface ForwardedEvent {
  readonly event: Event;
  /** The JSON text to publish. */
  readonly body: string;
  /** Its media type: `application/json`, or `application/cloudevents+json` for the CloudEvents format. */
  readonly contentType: string;
}

/**
 * Where `forwardEvents` hands each batch. `send` resolves once the broker holds every message of the batch (an
 * ack, a publisher confirm); a rejection makes the batch be sent again, so a sink must tolerate repeats (brokers
 * deduplicate by message id, or consumers do). It must keep the batch's order.
 *
 * @example
 * ```ts
 * const sink: EventSink = {
 *   async send(batch) {
 *     await fetch("https://hooks.example/events", { method: "POST", body: `[${batch.map((item) => item.body).join(",")}]` });
 *   },
 * };
 * ```
 */
export interface EventSink {
  send(batch: readonly ForwardedEvent[], context: { readonly signal: AbortSignal }): Promise<void>;
}

/**
 * The body formats `forwardEvents` can publish.
 *
 * @example
 * ```ts
 * const format: ForwardFormat = "cloudevents";
 * ```
 */
export type ForwardFormat = "event" | "cloudevents" | "iab";

/**
 * Options of `forwardEvents`. `name`, `query`, `from`, `batchSize`, `leaseMs`, `retry`, `onFailure`, `onGap`,
 * `onError` and `signal` are those of `bus.consume()` (docs/consumers.md); the checkpoint is the forwarder's
 * position. Without `onError`, failed sends go to the bus's `onError` as `{ source: "sink", error, event? }`.
 *
 * @example
 * ```ts
 * const options: ForwardEventsOptions = { name: "to-nats", format: "cloudevents", source: "/seller/acme", batchSize: 200 };
 * ```
 */
export interface ForwardEventsOptions extends Omit<ConsumeOptions, "handlerTimeoutMs"> {
  /** The durable consumer's name: its checkpoint and lease. One name per destination. */
  readonly name: string;
  /** The body of each message: `"event"` (default, the event's JSON), `"cloudevents"` (structured) or `"iab"`. */
  readonly format?: ForwardFormat | undefined;
  /** The CloudEvents `source`; required with `format: "cloudevents"`. */
  readonly source?: string | undefined;
  /** Milliseconds a `send` may take before it counts as failed and is retried. Default 30,000. */
  readonly sendTimeoutMs?: number | undefined;
}

const OPTION_KEYS: OptionKeys<ForwardEventsOptions> = {
  name: true,
  format: true,
  source: true,
  sendTimeoutMs: true,
  ...DURABLE_READER_OPTION_KEYS,
};
/**
 * A broker outage should pause forwarding, not fail it: about 80 minutes of retries (5 s apart at most) before the
 * consumer gives up and shows `failed`.
 */
const FORWARD_RETRY: ConsumerRetryOptions = { attempts: 1000, initialDelayMs: 200, maxDelayMs: 5000 };

/**
 * Forwards every matching event to a sink, in append order, at least once, on a durable consumer: the checkpoint
 * moves only after `sink.send` resolved, a failed send is retried with backoff (the consumer's `last_error` says
 * why), and a crashed forwarder resumes after its checkpoint, sending at most the batch in flight again. Returns
 * the consumer (`status()`, `stop()`).
 *
 * @example
 * ```ts
 * const forwarder = forwardEvents(bus, natsJetStreamSink({ jetstream: jetstream(connection) }), { name: "to-nats" });
 * process.on("SIGTERM", () => forwarder.stop());
 * ```
 */
export function forwardEvents(bus: EventBus, sink: EventSink, options: ForwardEventsOptions): Consumer {
  checkOptionKeys(options, OPTION_KEYS, "forwardEvents");
  const read = readOwnFields(options, Object.keys(OPTION_KEYS), "forwardEvents") as unknown as ForwardEventsOptions;
  const { name, format = "event", source, sendTimeoutMs = 30_000, onError, ...consumeOptions } = read;
  if (typeof sink !== "object" || sink === null || typeof sink.send !== "function") {
    throw EventValidationError.forField("sink", `must be an object with a send(batch) method, got ${showValue(sink)}`);
  }
  const encode = encoderFor(format, source);
  if (!(Number.isInteger(sendTimeoutMs) && sendTimeoutMs >= 1 && sendTimeoutMs <= 2_147_483_647)) {
    throw EventValidationError.forField("sendTimeoutMs", `must be a positive integer, got ${showValue(sendTimeoutMs)}`);
  }
  return bus.consume(
    name,
    async (events, { signal }) => {
      await sink.send(events.map(encode), { signal });
    },
    {
      ...consumeOptions,
      retry: forwardRetry(consumeOptions.retry),
      handlerTimeoutMs: sendTimeoutMs,
      onError: reporterOf(bus).route("sink", readOnError(onError), (error: unknown, event?: Event) => ({
        error,
        event,
      })),
    },
  );
}

/** The forwarder's own `onError`, checked here since the one passed on to `consume()` is always a function. */
function readOnError(given: unknown): ((error: unknown, event?: Event) => void) | undefined {
  if (given === undefined || typeof given === "function") return given as (error: unknown, event?: Event) => void;
  throw EventValidationError.forField("onError", `must be a function, got ${showValue(given)}`);
}

/** The caller's retry options over the forwarding defaults; anything but an object is left for consume() to refuse. */
function forwardRetry(given: ConsumerRetryOptions | undefined): ConsumerRetryOptions | undefined {
  if (given === undefined) return FORWARD_RETRY;
  if (typeof given !== "object" || given === null || Array.isArray(given)) return given;
  return { ...FORWARD_RETRY, ...given };
}

function encoderFor(format: unknown, source: unknown): (event: Event) => ForwardedEvent {
  if (format === "event") return (event) => ({ event, body: JSON.stringify(event), contentType: "application/json" });
  if (format === "iab")
    return (event) => ({ event, body: JSON.stringify(toIabEvent(event)), contentType: "application/json" });
  if (format === "cloudevents") {
    if (source === undefined) throw EventValidationError.forField("source", 'is required with format "cloudevents"');
    const checked = readSource({ source: source as string });
    return (event) => ({
      event,
      body: JSON.stringify(cloudEventOf(event, checked)),
      contentType: "application/cloudevents+json",
    });
  }
  throw EventValidationError.forField("format", `must be "event", "cloudevents" or "iab", got ${showValue(format)}`);
}
