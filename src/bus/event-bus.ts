import type { Consumer } from "../consumers/consumer.js";
import type { ConsumeOptions, ConsumerHandler } from "../consumers/consumer-options.js";
import type { EmitEventInput, Event } from "../event/event.js";
import type { EventType, EventTypeFilter, EventTypePattern } from "../event/event-type.js";
import { randomFlowId } from "../event/flow-id.js";
import type {
  EmitInputOf,
  EventOf,
  EventsMatching,
  NoPayloadSchemas,
  PayloadOf,
  PayloadSchemas,
} from "../event/payload-schemas.js";
import type { EventQuery } from "../event/query.js";
import { LiveDelivery } from "../live/live-delivery.js";
import type { TailOptions, TailQuery } from "../live/tail-query.js";
import type { EventStorage } from "../storage/types.js";
import { assembleBus, type BusParts, shutDown, startConsumer } from "./bus-parts.js";
import type { EventBusOptions } from "./event-bus-options.js";
import { bindContext, EventScope, type ScopeContext } from "./event-scope.js";
import type { EventJsonPage, EventPage } from "./read/event-page.js";
import type { EventListener, SubscribeOptions } from "./subscriptions.js";
import type { EmitOptions } from "./write/emit-transaction.js";
import type { OutboxStatus } from "./write/outbox-contract.js";

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
  private readonly parts: BusParts;
  /** Makes the `flow_id` of a scope that binds none; `createTestBus` replaces it with a counter. */
  protected newFlowId: () => string = randomFlowId;
  private live: LiveDelivery | undefined;

  constructor(options: EventBusOptions<Schemas> = {}) {
    this.parts = assembleBus(this, options as EventBusOptions);
    this.storage = this.parts.storage;
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
  emitEvent<Type extends EventType>(
    input: EmitInputOf<Schemas, Type>,
    options?: EmitOptions,
  ): Promise<EventOf<Schemas, Type>> {
    return this.parts.emitter.emit(input as EmitEventInput, options) as Promise<EventOf<Schemas, Type>>;
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
  emitEvents<const Types extends readonly EventType[]>(
    inputs: {
      readonly [Index in keyof Types]: EmitInputOf<Schemas, Types[Index]>;
    },
    options?: EmitOptions,
  ): Promise<{ -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]> }> {
    const list = inputs as unknown as readonly EmitEventInput[];
    return this.parts.emitter.emitMany(list, options) as Promise<{
      -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]>;
    }>;
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
    return this.parts.gate.track(() => this.parts.reader.listPage(query)) as Promise<
      EventPage<EventsMatching<Schemas, Filter>>
    >;
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
    return this.parts.gate.track(() => this.parts.reader.get(eventId)) as Promise<EventOf<Schemas> | null>;
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
    return this.parts.gate.track(() => this.parts.reader.jsonPage(query));
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
    return this.parts.gate.track(() => this.parts.reader.getJson(eventId));
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
    return this.parts.subscriptions.add(pattern, listener as EventListener, options);
  }

  /**
   * Every matching event appended by any process sharing the store, live: catches up from `after` (or `since`, or
   * the current end), then waits for new events. Each event comes once, in the store's append order, typed like
   * `listEvents` results. Ends when `signal` aborts, the loop breaks, or the bus closes; store outages are retried
   * and reported to its `onError` (else the bus's). Throws `EventValidationError` at once for a bad query or option;
   * an unknown `after` rejects the first step.
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
    this.parts.gate.check();
    this.live ??= new LiveDelivery(this.storage, this.parts.reporter);
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
    return this.parts.writer.parsePayload(type, value) as PayloadOf<Schemas, Type>;
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
    return this.parts.outbox?.status() ?? { pending: 0, oldest_timestamp: null, last_error: null };
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
    this.parts.gate.check();
    const subscribe = (listener: () => void) => this.subscribe("*", () => listener());
    return startConsumer(this.parts, subscribe, name, handler as ConsumerHandler, options);
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
    await shutDown(this.parts, this.live);
  }
}
