import { Consumer } from "../consumers/consumer.js";
import { type ConsumeOptions, type ConsumerHandler, readConsumerSettings } from "../consumers/consumer-options.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, type EmitEventInput, type Event } from "../event/event.js";
import type { EventType, EventTypeFilter, EventTypePattern } from "../event/event-type.js";
import { randomFlowId } from "../event/flow-id.js";
import {
  type EmitInputOf,
  type EventOf,
  type EventsMatching,
  type NoPayloadSchemas,
  type PayloadOf,
  type PayloadSchemas,
  readPayloadSchemas,
} from "../event/payload-schemas.js";
import type { EventQuery } from "../event/query.js";
import { LiveDelivery } from "../live/live-delivery.js";
import type { TailOptions, TailQuery } from "../live/tail-query.js";
import { closedError } from "../storage/kit/store-errors.js";
import { memoryStorage } from "../storage/memory/memory-storage.js";
import type { EventStorage } from "../storage/types.js";
import { type EventBusOptions, readEventBusOptions } from "./event-bus-options.js";
import { bindContext, EventScope, type ScopeContext } from "./event-scope.js";
import type { EventJsonPage, EventPage } from "./read/event-page.js";
import { EventReader } from "./read/event-reader.js";
import { type EventListener, type SubscribeOptions, SubscriptionRegistry } from "./subscriptions.js";
import { type EmitOptions, emitInTransaction, readEmitTransaction } from "./write/emit-transaction.js";
import { EventWriter } from "./write/event-writer.js";
import { settleDuplicate } from "./write/idempotency.js";
import { type EventOutbox, type OutboxStatus, storageSink } from "./write/outbox-contract.js";

export type { EventBusOptions };

/**
 * The event bus a seller agent embeds: validates, stamps, freezes and stores events, answers queries, and notifies
 * in-process subscribers.
 *
 * @example
 * ```ts
 * const bus = new EventBus();
 * const event = await bus.emitEvent({ event_type: EventType.DEAL_CREATED, deal_id: "d-1", payload: { cpm: 12 } });
 * const recent = await bus.listEvents({ deal_id: "d-1" });
 * const same = await bus.getEvent(event.event_id);
 * ```
 */
export class EventBus<Schemas extends PayloadSchemas = NoPayloadSchemas> {
  /** The storage this bus reads and writes. */
  readonly storage: EventStorage;
  private readonly ownsStorage: boolean;
  private readonly writer: EventWriter;
  private readonly reader: EventReader;
  private readonly subscriptions: SubscriptionRegistry;
  /** Makes the `flow_id` of a scope that binds none; `createTestBus` replaces it with a counter. */
  protected newFlowId: () => string = randomFlowId;
  private readonly outbox: EventOutbox | undefined;
  private readonly consumers = new Set<Consumer>();
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private closed = false;
  /** Delivers an event written in a caller's transaction once it committed, unless the bus closed meanwhile. */
  private readonly deliverCommitted = (event: Event) => !this.closed && this.subscriptions.deliver(event);
  private live: LiveDelivery | undefined;

  constructor(given: EventBusOptions<Schemas> = {}) {
    // Each option is read once into a plain copy, so a throwing getter or Proxy names the option.
    const options = readEventBusOptions(given as EventBusOptions) as EventBusOptions<Schemas>;
    this.storage = options.storage ?? memoryStorage();
    this.ownsStorage = options.storage === undefined || options.closeStorage === true;
    this.outbox = options.outbox;
    this.reader = new EventReader(this.storage);
    this.writer = new EventWriter(this.storage, {
      now: options.now,
      generateId: options.generateId,
      maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      payloadSchemas: readPayloadSchemas(options.payloads),
      outbox: this.outbox,
    });
    const onListenerError = options.onListenerError ?? reportListenerError;
    this.subscriptions = new SubscriptionRegistry((error, event) => {
      try {
        (onListenerError as (error: unknown, event: Event) => void)(error, event);
      } catch (secondary) {
        reportListenerError(secondary, event);
      }
    });
    this.outbox?.attach(
      storageSink(
        this.storage,
        (event) => this.subscriptions.deliver(event),
        () => this.writer.storeAnswered(),
      ),
    );
  }

  /**
   * Validates, stamps, freezes and stores one event, then notifies subscribers. Resolves with the stored event. With
   * `{ transaction }` it is written in your open transaction and subscribers hear of it after the commit only.
   *
   * Rejects with `EventValidationError` (nothing stored), `EventConflictError` (the given `event_id` is taken by
   * different content) or `StorageError` (the store failed; no subscriber is notified).
   *
   * @example
   * ```ts
   * const event = await bus.emitEvent({
   *   event_type: EventType.PROPOSAL_COUNTERED,
   *   proposal_id: "p-7",
   *   payload: { counter_cpm: 11.5, reason: "below floor" },
   * });
   * ```
   */
  async emitEvent<Type extends EventType>(
    input: EmitInputOf<Schemas, Type>,
    options?: EmitOptions,
  ): Promise<EventOf<Schemas, Type>> {
    // Inlined rather than routed through `track`: emit is the hot path and every async layer costs a promise.
    if (this.closed) throw closedError("the event bus");
    const transaction = readEmitTransaction(options, "emitEvent");
    this.inFlight++;
    try {
      if (transaction !== undefined) {
        const [stored] = await emitInTransaction(
          this.writer,
          [input as EmitEventInput],
          transaction,
          this.deliverCommitted,
        );
        return stored as EventOf<Schemas, Type>;
      }
      const { event, timestampGiven } = this.writer.build(input);
      const outcomes = await this.writer.append([event]);
      // Undefined: the store failed and the outbox holds the event; subscribers hear of it once replay stores it.
      if (outcomes === undefined) return event as EventOf<Schemas, Type>;
      const [existing] = outcomes;
      if (existing) return settleDuplicate(existing, event, timestampGiven) as EventOf<Schemas, Type>;
      this.subscriptions.deliver(event);
      return event as EventOf<Schemas, Type>;
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  /**
   * Emits several events at once: validates them all first (errors name `[index].field`; nothing is stored when
   * any is invalid), stores them in one `append` (all or nothing), then notifies subscribers in order. Resolves with
   * the stored events in input order. A given `event_id` follows the same rules as in `emitEvent`: the same content
   * again resolves with the stored event, different content rejects with `EventConflictError` once the new events
   * of the batch are stored.
   *
   * @example
   * ```ts
   * const [started, round] = await bus.emitEvents([
   *   { event_type: "negotiation.started", session_id },
   *   { event_type: "negotiation.round", session_id, payload: { round: 1 } },
   * ]);
   * ```
   */
  async emitEvents<const Types extends readonly EventType[]>(
    inputs: {
      readonly [Index in keyof Types]: EmitInputOf<Schemas, Types[Index]>;
    },
    options?: EmitOptions,
  ): Promise<{ -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]> }> {
    if (this.closed) throw closedError("the event bus");
    const transaction = readEmitTransaction(options, "emitEvents");
    this.inFlight++;
    try {
      const list = inputs as unknown as readonly EmitEventInput[];
      const emitted =
        transaction === undefined
          ? await this.writer.emitBatch(list, (event) => this.subscriptions.deliver(event))
          : await emitInTransaction(this.writer, list, transaction, this.deliverCommitted);
      return emitted as {
        -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]>;
      };
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  /**
   * The events matching every given filter, oldest to newest: with no cursor the newest `limit` (default 50),
   * with `after` the first `limit` after that event, with `before` the newest `limit` before it.
   *
   * @example
   * ```ts
   * const rounds = await bus.listEvents({ session_id, event_type: "negotiation.round", limit: 10 });
   * const next = await bus.listEvents({ session_id, after: rounds.at(-1)?.event_id });
   * ```
   */
  async listEvents<const Filter extends EventTypeFilter = "*">(
    query: EventQuery<Filter> = {},
  ): Promise<EventsMatching<Schemas, Filter>[]> {
    return (await this.listEventsPage(query)).events;
  }

  /**
   * Like `listEvents`, and also tells whether more events match beyond the page (what `GET /events` serves).
   *
   * @example
   * ```ts
   * const { events, has_more } = await bus.listEventsPage({ deal_id: "d-1", limit: 100 });
   * ```
   */
  listEventsPage<const Filter extends EventTypeFilter = "*">(
    query: EventQuery<Filter> = {},
  ): Promise<EventPage<EventsMatching<Schemas, Filter>>> {
    return this.track(() => this.reader.listPage(query)) as Promise<EventPage<EventsMatching<Schemas, Filter>>>;
  }

  /**
   * The event with this id, or `null` when there is none (also for a malformed id).
   *
   * @example
   * ```ts
   * const event = await bus.getEvent("0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e");
   * ```
   */
  getEvent(eventId: string): Promise<EventOf<Schemas> | null> {
    return this.track(() => this.reader.get(eventId)) as Promise<EventOf<Schemas> | null>;
  }

  /**
   * {@link listEventsPage} as JSON texts: each event exactly as `JSON.stringify` of the frozen `Event` would write
   * it. Stores with the `listJson` capability hand over their stored text without parsing it; others are listed
   * and serialised once per event object. The HTTP routes serve this, so they never look at the store.
   *
   * @example
   * ```ts
   * const page = await bus.listEventsJsonPage({ session_id: "s-1", limit: 20 });
   * const body = `{"events":[${page.json.join(",")}],"has_more":${page.has_more}}`;
   * ```
   */
  listEventsJsonPage(query: EventQuery = {}): Promise<EventJsonPage> {
    return this.track(() => this.reader.jsonPage(query));
  }

  /**
   * {@link getEvent} as JSON text (`JSON.stringify` of the event, byte for byte), or `null`.
   *
   * @example
   * ```ts
   * const text = await bus.getEventJson("0b9c6a53-8a2f-4f5e-9a51-2f4f3f2d1c10");
   * ```
   */
  getEventJson(eventId: string): Promise<string | null> {
    return this.track(() => this.reader.getJson(eventId));
  }

  /**
   * Calls `listener` with every stored event matching `pattern` (a type, `"group.*"` or `"*"`), in emit order.
   * Returns the unsubscribe function; an aborted `signal` unsubscribes too.
   *
   * @example
   * ```ts
   * const stop = bus.subscribe("approval.*", (event) => notifyTrader(event));
   * bus.subscribe("deal.synced", onSynced, { signal: controller.signal });
   * stop();
   * ```
   */
  subscribe<const Pattern extends EventTypePattern>(
    pattern: Pattern,
    listener: EventListener<EventOf<Schemas, Pattern>>,
    options?: SubscribeOptions,
  ): () => void {
    return this.subscriptions.add(pattern, listener as EventListener, options);
  }

  /**
   * Every matching event appended by any process sharing the store, live: catches up from `after` (or `since`, or
   * the current end), then waits for new events. Each event comes once, in the store's append order, typed like
   * `listEvents` results. Ends when `signal` aborts, the loop breaks, or the bus closes; store outages are retried
   * and reported to `onError`. Throws `EventValidationError` at once for a bad query or option; an unknown `after`
   * rejects the first step.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * for await (const event of bus.tail({ event_type: "deal.*" }, { signal: controller.signal })) {
   *   console.log(event.event_type, event.deal_id);
   * }
   * ```
   */
  tail<const Filter extends EventTypeFilter = "*">(
    query: TailQuery<Filter> = {},
    options: TailOptions = {},
  ): AsyncIterableIterator<EventsMatching<Schemas, Filter>> {
    if (this.closed) throw closedError("the event bus");
    this.live ??= new LiveDelivery(this.storage);
    return this.live.tail(query, options) as AsyncIterableIterator<EventsMatching<Schemas, Filter>>;
  }

  /**
   * Checks a payload against this bus's schema for `type` (or, for a type without one, that it is a JSON object
   * within `maxPayloadBytes`) and returns the schema's output, deeply frozen. Reads never re-validate stored
   * payloads: use this where an event may predate a schema change.
   *
   * @example
   * ```ts
   * const event = await bus.getEvent(id);
   * if (event?.event_type === "negotiation.round") {
   *   const payload = bus.parsePayload("negotiation.round", event.payload); // throws EventValidationError if stale
   * }
   * ```
   */
  parsePayload<Type extends EventType>(type: Type, value: unknown): PayloadOf<Schemas, Type> {
    return this.writer.parsePayload(type, value) as PayloadOf<Schemas, Type>;
  }

  /**
   * A child emitter with correlation fields bound; `flow_id` defaults to a fresh random id (21 URL-safe characters;
   * `createTestBus` numbers them instead).
   *
   * @example
   * ```ts
   * const flow = bus.scope({ flow_type: "deal_sync", deal_id: "d-9" });
   * await flow.emitEvent({ event_type: EventType.DEAL_SYNCED, payload: { ad_server: "gam" } });
   * ```
   */
  scope(context: ScopeContext = {}): EventScope<Schemas> {
    const emit = (input: EmitEventInput) => this.emitEvent(input as never) as Promise<Event>;
    const emitBatch = (inputs: readonly EmitEventInput[]) => this.emitEvents(inputs as never) as Promise<Event[]>;
    return new EventScope<Schemas>(emit, bindContext(context, undefined, this.newFlowId), emitBatch);
  }

  /**
   * The outbox's state for health checks: pending events, the head's timestamp, the last failure. Without an
   * outbox: nothing pending.
   *
   * @example
   * ```ts
   * const { pending, oldest_timestamp, last_error } = bus.outboxStatus();
   * ```
   */
  outboxStatus(): OutboxStatus {
    return this.outbox?.status() ?? { pending: 0, oldest_timestamp: null, last_error: null };
  }

  /**
   * Starts a named, durable consumer: `handler` gets every matching event, in append order and in batches, at
   * least once across crashes and restarts, with one active instance per name across every process sharing the
   * store. See docs/consumers.md for the guarantees, the lease and retries.
   *
   * @example
   * ```ts
   * const consumer = bus.consume("warehouse-export", async (events) => warehouse.insert(events), {
   *   query: { event_type: ["deal.created", "deal.synced"] },
   *   batchSize: 100,
   *   onFailure: "skip",
   * });
   * consumer.status(); // { name, state, position, lag, last_error }
   * ```
   */
  consume<const Filter extends EventTypeFilter = "*">(
    name: string,
    handler: ConsumerHandler<EventsMatching<Schemas, Filter>>,
    options?: ConsumeOptions<Filter>,
  ): Consumer {
    if (this.closed) throw closedError("the event bus");
    const consumer = new Consumer(readConsumerSettings(name, handler as ConsumerHandler, options), {
      storage: this.storage,
      subscribe: (listener) => this.subscribe("*", () => listener()),
      forget: (stopped) => this.consumers.delete(stopped),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Waits for calls in flight, stops consumers, drops subscribers, and closes the storage if the bus owns it. Later calls reject.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => bus.close());
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.subscriptions.clear();
    await this.live?.close();
    try {
      // Before the storage: replay appends through it. What is pending stays in the outbox.
      await this.outbox?.close();
    } finally {
      if (this.ownsStorage) await this.reader.call("close", () => this.storage.close());
    }
  }

  private async track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw closedError("the event bus");
    this.inFlight++;
    try {
      return await operation();
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }
}

function reportListenerError(error: unknown, event: Event): void {
  console.error(`[ad-seller-events] a listener failed on ${event.event_type} ${event.event_id}:`, error);
}
