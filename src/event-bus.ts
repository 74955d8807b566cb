import { buildBatch, settleBatch } from "./emit-batch.js";
import {
  type OwnEmitFields,
  type ParsedEmitInput,
  parseEmitInputFast,
  readEmitInput,
  schemaInputOf,
} from "./emit-input.js";
import { EventBusError, EventValidationError, StorageError } from "./errors.js";
import {
  buildEmitInputSchema,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EmitEventInput,
  type Event,
  freezeEvent,
} from "./event.js";
import { readEventBusOptions } from "./event-bus-options.js";
import { bindContext, EventScope, type ScopeContext } from "./event-scope.js";
import { EventStamps } from "./event-stamps.js";
import {
  describeBadType,
  type EventType,
  type EventTypeFilter,
  type EventTypePattern,
  isEventType,
} from "./event-type.js";
import { randomFlowId } from "./flow-id.js";
import { settleDuplicate } from "./idempotency.js";
import { toFrozenJsonObject } from "./json.js";
import { LiveDelivery } from "./live/live-delivery.js";
import type { TailOptions, TailQuery } from "./live/tail-query.js";
import { type EventOutbox, type OutboxStatus, outboxTakes, storageSink, writeToOutbox } from "./outbox-contract.js";
import {
  applyPayloadSchema,
  type EmitInputOf,
  type EventOf,
  type EventsMatching,
  type NoPayloadSchemas,
  type PayloadOf,
  type PayloadSchemaMap,
  type PayloadSchemas,
  parseWithPayloadSchema,
  readPayloadSchemas,
} from "./payloads.js";
import { type EventQuery, isUuid, MAX_LIMIT, normalizeEventQuery } from "./query.js";
import { memoryStorage } from "./storage/memory/memory-storage.js";
import type { AppendOutcome, EventStorage } from "./storage/types.js";
import { type EventListener, type SubscribeOptions, SubscriptionRegistry } from "./subscriptions.js";

/**
 * Options of {@link EventBus}; all optional.
 *
 * @example
 * ```ts
 * const options: EventBusOptions = { storage: memoryStorage({ maxEvents: 10_000 }), maxPayloadBytes: 16_384 };
 * ```
 */
export interface EventBusOptions<Schemas extends PayloadSchemas = NoPayloadSchemas> {
  /** Where events are stored. Default: a fresh `memoryStorage()`, closed by `bus.close()`. */
  readonly storage?: EventStorage | undefined;
  /** Close `storage` in `bus.close()` even though you passed it in. Default: `false` for injected storage. */
  readonly closeStorage?: boolean | undefined;
  /** The clock that stamps `timestamp`. Default: `() => new Date()`. */
  readonly now?: (() => Date | string | number) | undefined;
  /** Makes `event_id`s; must return UUIDs. Default: `crypto.randomUUID`. */
  readonly generateId?: (() => string) | undefined;
  /** Receives what a listener throws or rejects with. Default: `console.error`. */
  readonly onListenerError?: ((error: unknown, event: Event) => void) | undefined;
  /** Cap on the serialised size of `payload` and of `metadata`, each, in bytes. Default: 65536. */
  readonly maxPayloadBytes?: number | undefined;
  /**
   * The event catalogue: a zod schema per event type whose payload it checks at emit (an `EventValidationError`
   * naming `payload.<path>`, nothing stored) and types everywhere events come back. Partial; other types keep
   * `JsonObject`. Stored payloads are not re-validated on read (use `bus.parsePayload` for that).
   */
  readonly payloads?: (Schemas & { readonly [Key in Exclude<keyof Schemas, EventType>]: never }) | undefined;
  /**
   * Where events of the outbox's types go when the store fails (fail-closed), replayed into the store later; e.g.
   * `fileOutbox({ path })` from `ad-seller-events/outbox`. Closed by `bus.close()`. Default: none.
   */
  readonly outbox?: EventOutbox | undefined;
}

/**
 * One page of `listEventsPage`: the events, oldest to newest, and whether the window holds more.
 *
 * @example
 * ```ts
 * const page: EventPage = await bus.listEventsPage({ session_id, limit: 20 });
 * if (page.has_more) console.log("older events exist");
 * ```
 */
export interface EventPage<Item = Event> {
  readonly events: Item[];
  /** True when more events match beyond this page, in the direction the window reads. */
  readonly has_more: boolean;
}

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
  private readonly stamps: EventStamps;
  private readonly maxPayloadBytes: number;
  private readonly inputSchema: ReturnType<typeof buildEmitInputSchema>;
  private readonly payloadSchemas: PayloadSchemaMap | undefined;
  private readonly subscriptions: SubscriptionRegistry;
  /** Makes the `flow_id` of a scope that binds none; `createTestBus` replaces it with a counter. */
  protected newFlowId: () => string = randomFlowId;
  private readonly outbox: EventOutbox | undefined;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private closed = false;
  private live: LiveDelivery | undefined;

  constructor(given: EventBusOptions<Schemas> = {}) {
    // Each option is read once into a plain copy, so a throwing getter or Proxy names the option.
    const options = readEventBusOptions(given as EventBusOptions) as EventBusOptions<Schemas>;
    this.payloadSchemas = readPayloadSchemas(options.payloads);
    this.storage = options.storage ?? memoryStorage();
    this.ownsStorage = options.storage === undefined || options.closeStorage === true;
    this.stamps = new EventStamps(options.now, options.generateId);
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.inputSchema = buildEmitInputSchema(this.maxPayloadBytes);
    const onListenerError = options.onListenerError ?? reportListenerError;
    this.subscriptions = new SubscriptionRegistry((error, event) => {
      try {
        (onListenerError as (error: unknown, event: Event) => void)(error, event);
      } catch (secondary) {
        reportListenerError(secondary, event);
      }
    });
    this.outbox = options.outbox;
    this.outbox?.attach(storageSink(this.storage, (event) => this.subscriptions.deliver(event)));
  }

  /**
   * Validates, stamps, freezes and stores one event, then notifies subscribers. Resolves with the stored event.
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
  async emitEvent<Type extends EventType>(input: EmitInputOf<Schemas, Type>): Promise<EventOf<Schemas, Type>> {
    // Inlined rather than routed through `track`: emit is the hot path and every async layer costs a promise.
    if (this.closed) throw new EventBusError("the event bus is closed");
    this.inFlight++;
    try {
      const own = readEmitInput(input);
      const event = this.buildEvent(own);
      const outcomes = await this.appendBatch([event]);
      // Undefined: the store failed and the outbox holds the event; subscribers hear of it once replay stores it.
      if (outcomes === undefined) return event as EventOf<Schemas, Type>;
      const [existing] = outcomes;
      // `own`, not `input`: the caller's object is read once (a getter could answer differently the second time).
      if (existing) return settleDuplicate(existing, event, own.timestamp !== undefined) as EventOf<Schemas, Type>;
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
  ): Promise<{ -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]> }> {
    if (this.closed) throw new EventBusError("the event bus is closed");
    this.inFlight++;
    try {
      return (await this.emitBatch(inputs as unknown as readonly EmitEventInput[])) as {
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
    options: { maxLimit?: number } = {},
  ): Promise<EventPage<EventsMatching<Schemas, Filter>>> {
    return this.track(() => this.listPage(query, options.maxLimit ?? MAX_LIMIT)) as Promise<
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
    return this.track(() => this.getOne(eventId)) as Promise<EventOf<Schemas> | null>;
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
    if (this.closed) throw new EventBusError("the event bus is closed");
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
    if (!isEventType(type)) throw EventValidationError.forField("event_type", describeBadType(type));
    const schema = this.payloadSchemas?.get(type);
    let output = value;
    if (schema !== undefined) {
      const parsed = parseWithPayloadSchema(schema, value);
      if (!parsed.ok) throw parsed.error;
      output = parsed.value;
    }
    const frozen = toFrozenJsonObject(output, ["payload"], this.maxPayloadBytes);
    if (!frozen.ok) throw new EventValidationError(frozen.issues);
    return frozen.value as PayloadOf<Schemas, Type>;
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
   * Waits for calls in flight, drops subscribers, and closes the storage if the bus owns it. Later calls reject.
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => bus.close());
   * ```
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.subscriptions.clear();
    await this.live?.close();
    try {
      // Before the storage: replay appends through it. What is pending stays in the outbox.
      await this.outbox?.close();
    } finally {
      if (this.ownsStorage) await this.callStorage("close", () => this.storage.close());
    }
  }

  /**
   * The one place where events go to storage, for `emitEvent` and `emitEvents` alike: one `append` per call, all
   * or nothing. When the store fails with a `StorageError` and the outbox takes the batch (all of its types), the
   * batch goes to the outbox as one unit and this resolves `undefined`.
   */
  private async appendBatch(events: readonly Event[]): Promise<readonly AppendOutcome[] | undefined> {
    try {
      return await this.storage.append(events);
    } catch (error) {
      if (error instanceof EventBusError && !(error instanceof StorageError)) throw error;
      const failure = error instanceof StorageError ? error : new StorageError(this.storage.name, "append", error);
      if (this.outbox === undefined || !outboxTakes(this.outbox, events)) throw failure;
      await writeToOutbox(this.outbox, events, failure);
      return undefined;
    }
  }

  private async emitBatch(inputs: readonly EmitEventInput[]): Promise<Event[]> {
    const batch = buildBatch(inputs, (input) => {
      const own = readEmitInput(input);
      return { event: this.buildEvent(own), timestampGiven: own.timestamp !== undefined };
    });
    if (batch.events.length === 0) return [];
    const outcomes = await this.appendBatch(batch.appended);
    // In the outbox: resolved as stamped, delivered to subscribers once replay stores them.
    if (outcomes === undefined) return [...batch.events];
    return settleBatch(batch, outcomes, (event) => this.subscriptions.deliver(event));
  }

  /** Validates, stamps and freezes one event from the input's own fields. */
  private buildEvent(input: OwnEmitFields): Event {
    // Only a bus with `payloads` pays for the lookup; a type without a schema takes the plain path.
    const schema = this.payloadSchemas?.get(input.event_type as EventType);
    const source =
      schema === undefined ? input : applyPayloadSchema(input, schema, (rest) => this.parseWithSchema(rest));
    const fields = parseEmitInputFast(source, this.maxPayloadBytes) ?? this.parseWithSchema(source);
    const eventId = fields.event_id === undefined ? this.stamps.nextId() : fields.event_id.toLowerCase();
    return freezeEvent(fields, eventId, fields.timestamp ?? this.stamps.currentTime());
  }

  private parseWithSchema(own: OwnEmitFields): ParsedEmitInput {
    const parsed = this.inputSchema.safeParse(schemaInputOf(own));
    if (!parsed.success) throw EventValidationError.fromZod(parsed.error);
    return parsed.data;
  }

  private async listPage(query: EventQuery, maxLimit: number): Promise<EventPage> {
    const normalized = normalizeEventQuery(query, { maxLimit });
    const events = await this.callStorage("list", () =>
      this.storage.list({ ...normalized, limit: normalized.limit + 1 }),
    );
    const has_more = events.length > normalized.limit;
    if (!has_more) return { events, has_more };
    // One extra event was read to learn has_more; drop it from the far end of the window.
    return { events: normalized.after === undefined ? events.slice(1) : events.slice(0, -1), has_more };
  }

  private async getOne(eventId: string): Promise<Event | null> {
    if (!isUuid(eventId)) return null;
    return this.callStorage("get", () => this.storage.get(eventId.toLowerCase()));
  }

  private async track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new EventBusError("the event bus is closed");
    this.inFlight++;
    try {
      return await operation();
    } finally {
      if (--this.inFlight === 0) this.drained?.();
    }
  }

  private async callStorage<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof EventBusError) throw error;
      throw new StorageError(this.storage.name, operation, error);
    }
  }
}

function reportListenerError(error: unknown, event: Event): void {
  console.error(`[ad-seller-events] a listener failed on ${event.event_type} ${event.event_id}:`, error);
}
