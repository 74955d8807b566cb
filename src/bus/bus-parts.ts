import { Consumer } from "../consumers/consumer.js";
import { type ConsumeOptions, type ConsumerHandler, readConsumerSettings } from "../consumers/consumer-options.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, type Event } from "../event/event.js";
import { readPayloadSchemas } from "../event/payload-schemas.js";
import type { LiveDelivery } from "../live/live-delivery.js";
import { memoryStorage } from "../storage/memory/memory-storage.js";
import type { EventStorage } from "../storage/types.js";
import { ErrorReporter, registerReporter } from "./bus-errors.js";
import { CallGate } from "./call-gate.js";
import { type EventBusOptions, readEventBusOptions } from "./event-bus-options.js";
import { EventReader } from "./read/event-reader.js";
import { SubscriptionRegistry } from "./subscriptions.js";
import { BusEmitter } from "./write/bus-emitter.js";
import { EventWriter } from "./write/event-writer.js";
import { type EventOutbox, storageSink } from "./write/outbox-contract.js";

/** What one bus is made of, built from its options. */
export interface BusParts {
  readonly storage: EventStorage;
  readonly ownsStorage: boolean;
  readonly outbox: EventOutbox | undefined;
  readonly reader: EventReader;
  readonly writer: EventWriter;
  readonly emitter: BusEmitter;
  readonly subscriptions: SubscriptionRegistry;
  readonly gate: CallGate;
  readonly reporter: ErrorReporter;
  /** The consumers started by `bus.consume` and still running. */
  readonly consumers: Set<Consumer>;
}

/**
 * Reads the options once (a throwing getter or Proxy names the option), builds the bus's parts with the defaults
 * applied, and hands the outbox its way back into the store. `bus` is registered with the error reporter, so that
 * what is built around it later (HTTP handlers, webhooks, forwarders) reports to the same `onError`.
 */
export function assembleBus(bus: object, given: EventBusOptions): BusParts {
  const options = readEventBusOptions(given);
  const storage = options.storage ?? memoryStorage();
  const reporter = new ErrorReporter(options.onError);
  registerReporter(bus, reporter);
  const writer = new EventWriter(storage, {
    now: options.now,
    generateId: options.generateId,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    payloadSchemas: readPayloadSchemas(options.payloads),
    outbox: options.outbox,
  });
  const subscriptions = new SubscriptionRegistry(
    reporter.route("listener", options.onListenerError, (error: unknown, event: Event) => ({ error, event })),
  );
  const sink = storageSink(
    storage,
    (event) => subscriptions.deliver(event),
    () => writer.storeAnswered(),
  );
  registerReporter(sink, reporter);
  options.outbox?.attach(sink);
  const gate = new CallGate();
  return {
    storage,
    ownsStorage: options.storage === undefined || options.closeStorage === true,
    outbox: options.outbox,
    reader: new EventReader(storage),
    writer,
    emitter: new BusEmitter(writer, subscriptions, gate),
    subscriptions,
    gate,
    reporter,
    consumers: new Set(),
  };
}

/** `bus.consume`: a consumer reporting to its `onError`, else the bus's, forgotten by the bus once it stopped. */
export function startConsumer(
  parts: BusParts,
  subscribe: (listener: () => void) => () => void,
  name: string,
  handler: ConsumerHandler,
  options: ConsumeOptions | undefined,
): Consumer {
  const settings = readConsumerSettings(name, handler, options);
  const report = parts.reporter.route("consumer", settings.onError, (error: unknown, event?: Event) => ({
    error,
    event,
  }));
  const forget = (stopped: Consumer) => parts.consumers.delete(stopped);
  const consumer = new Consumer(settings, { storage: parts.storage, subscribe, forget, report });
  parts.consumers.add(consumer);
  return consumer;
}

/**
 * `bus.close()`: refuses new calls, waits for those in flight and stops the consumers, ends the tails, closes the
 * outbox (before the storage: replay appends through it; what is pending stays there), then the storage if owned.
 */
export async function shutDown(parts: BusParts, live: LiveDelivery | undefined): Promise<void> {
  const { gate, subscriptions, outbox, reader, storage } = parts;
  if (gate.closed) return;
  const draining = gate.close();
  await Promise.all([draining, ...[...parts.consumers].map((consumer) => consumer.stop())]);
  subscriptions.clear();
  await live?.close();
  try {
    await outbox?.close();
  } finally {
    if (parts.ownsStorage) await reader.call("close", () => storage.close());
  }
}
