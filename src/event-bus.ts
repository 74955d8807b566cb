import {
  type OwnEmitFields,
  type ParsedEmitInput,
  parseEmitInputFast,
  readEmitInput,
  schemaInputOf,
} from "./emit-input.js";
import { EventBusError, EventConflictError, EventValidationError, StorageError } from "./errors.js";
import {
  buildEmitInputSchema,
  DEFAULT_MAX_PAYLOAD_BYTES,
  type EmitEventInput,
  type Event,
  freezeEvent,
} from "./event.js";
import { bindContext, EventScope, type ScopeContext } from "./event-scope.js";
import type { EventTypePattern } from "./event-type.js";
import { describeThrown, jsonEqual } from "./json.js";
import { LiveDelivery } from "./live/live-delivery.js";
import type { TailOptions, TailQuery } from "./live/tail-query.js";
import { type EventQuery, isUuid, MAX_LIMIT, normalizeEventQuery } from "./query.js";
import { memoryStorage } from "./storage/memory/memory-storage.js";
import type { EventStorage } from "./storage/types.js";
import { type EventListener, type SubscribeOptions, SubscriptionRegistry } from "./subscriptions.js";
import { normalizeTimestamp } from "./timestamp.js";

/**
 * Options of {@link EventBus}; all optional.
 *
 * @example
 * ```ts
 * const options: EventBusOptions = { storage: memoryStorage({ maxEvents: 10_000 }), maxPayloadBytes: 16_384 };
 * ```
 */
export interface EventBusOptions {
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
export interface EventPage {
  readonly events: Event[];
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
export class EventBus {
  /** The storage this bus reads and writes. */
  readonly storage: EventStorage;
  private readonly ownsStorage: boolean;
  private readonly now: (() => Date | string | number) | undefined;
  private readonly generateId: (() => string) | undefined;
  private readonly maxPayloadBytes: number;
  private readonly inputSchema: ReturnType<typeof buildEmitInputSchema>;
  private readonly subscriptions: SubscriptionRegistry;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private closed = false;
  private lastStampMillis = Number.NaN;
  private lastStamp = "";
  private live: LiveDelivery | undefined;

  constructor(given: EventBusOptions = {}) {
    const options = readOptions(given);
    checkOptions(options);
    this.storage = options.storage ?? memoryStorage();
    this.ownsStorage = options.storage === undefined || options.closeStorage === true;
    this.now = options.now;
    this.generateId = options.generateId;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.inputSchema = buildEmitInputSchema(this.maxPayloadBytes);
    const onListenerError = options.onListenerError ?? reportListenerError;
    this.subscriptions = new SubscriptionRegistry((error, event) => {
      try {
        onListenerError(error, event);
      } catch (secondary) {
        reportListenerError(secondary, event);
      }
    });
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
  async emitEvent(input: EmitEventInput): Promise<Event> {
    // Inlined rather than routed through `track`: emit is the hot path and every async layer costs a promise.
    if (this.closed) throw new EventBusError("the event bus is closed");
    this.inFlight++;
    try {
      const own = readEmitInput(input);
      const event = this.buildEvent(own);
      const [existing] = await this.callStorage("append", () => this.storage.append([event]));
      // `own`, not `input`: the caller's object is read once (a getter could answer differently the second time).
      if (existing) return settleDuplicate(existing, event, own.timestamp !== undefined);
      this.subscriptions.deliver(event);
      return event;
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
  async listEvents(query: EventQuery = {}): Promise<Event[]> {
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
  listEventsPage(query: EventQuery = {}, options: { maxLimit?: number } = {}): Promise<EventPage> {
    return this.track(() => this.listPage(query, options.maxLimit ?? MAX_LIMIT));
  }

  /**
   * The event with this id, or `null` when there is none (also for a malformed id).
   *
   * @example
   * ```ts
   * const event = await bus.getEvent("0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e");
   * ```
   */
  getEvent(eventId: string): Promise<Event | null> {
    return this.track(() => this.getOne(eventId));
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
  subscribe(pattern: EventTypePattern, listener: EventListener, options?: SubscribeOptions): () => void {
    return this.subscriptions.add(pattern, listener, options);
  }

  /**
   * Every matching event appended by any process sharing the store, live: catches up from `after` (or `since`, or
   * the current end), then waits for new events. Each event comes once, in the store's append order. Ends when
   * `signal` aborts, the loop breaks, or the bus closes; store outages are retried and reported to `onError`.
   * Throws `EventValidationError` at once for a bad query or option; an unknown `after` rejects the first step.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * for await (const event of bus.tail({ event_type: "deal.created" }, { signal: controller.signal })) {
   *   console.log(event.deal_id);
   * }
   * ```
   */
  tail(query: TailQuery = {}, options: TailOptions = {}): AsyncIterableIterator<Event> {
    if (this.closed) throw new EventBusError("the event bus is closed");
    this.live ??= new LiveDelivery(this.storage);
    return this.live.tail(query, options);
  }

  /**
   * A child emitter with correlation fields bound; `flow_id` defaults to a fresh nanoid.
   *
   * @example
   * ```ts
   * const flow = bus.scope({ flow_type: "deal_sync", deal_id: "d-9" });
   * await flow.emitEvent({ event_type: EventType.DEAL_SYNCED, payload: { ad_server: "gam" } });
   * ```
   */
  scope(context: ScopeContext = {}): EventScope {
    return new EventScope((input) => this.emitEvent(input), bindContext(context));
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
    if (this.ownsStorage) await this.callStorage("close", () => this.storage.close());
  }

  /** Validates, stamps and freezes one event from the input's own fields. */
  private buildEvent(own: OwnEmitFields): Event {
    const fields = parseEmitInputFast(own, this.maxPayloadBytes) ?? this.parseWithSchema(own);
    const eventId = fields.event_id === undefined ? this.nextId() : fields.event_id.toLowerCase();
    return freezeEvent(fields, eventId, fields.timestamp ?? this.currentTime());
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

  private nextId(): string {
    if (this.generateId === undefined) return crypto.randomUUID();
    const id = this.generateId();
    if (!isUuid(id))
      throw EventValidationError.forField("event_id", `generateId() must return a UUID, got ${String(id)}`);
    return id;
  }

  private currentTime(): string {
    // The system clock always yields a valid, canonical string; only an injected clock needs checking.
    if (this.now === undefined) {
      // Bursts stamp many events in the same millisecond; format each millisecond once.
      const millis = Date.now();
      if (millis !== this.lastStampMillis) {
        this.lastStampMillis = millis;
        this.lastStamp = new Date(millis).toISOString();
      }
      return this.lastStamp;
    }
    const time = this.now();
    const timestamp = normalizeTimestamp(typeof time === "number" ? new Date(time) : time);
    if (timestamp === null) throw new EventBusError(`the now() clock returned ${String(time)}, not a valid time`);
    return timestamp;
  }
}

const COMPARED_FIELDS = ["event_type", "flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const;

/** An id already stored: identical content is an idempotent retry, anything else a conflict. */
function settleDuplicate(stored: Event, incoming: Event, compareTimestamp: boolean): Event {
  const differing = differingFields(stored, incoming, compareTimestamp);
  if (differing.length > 0) throw new EventConflictError(incoming.event_id, differing);
  return stored;
}

function differingFields(stored: Event, incoming: Event, compareTimestamp: boolean): string[] {
  const differing: string[] = COMPARED_FIELDS.filter((field) => stored[field] !== incoming[field]);
  if (!jsonEqual(stored.payload, incoming.payload)) differing.push("payload");
  if (!jsonEqual(stored.metadata, incoming.metadata)) differing.push("metadata");
  if (compareTimestamp && stored.timestamp !== incoming.timestamp) differing.push("timestamp");
  return differing;
}

const OPTION_NAMES = ["storage", "closeStorage", "now", "generateId", "onListenerError", "maxPayloadBytes"] as const;

/** Reads each option once into a plain object, so that a getter or Proxy that throws names the option. */
function readOptions(options: EventBusOptions): EventBusOptions {
  if (typeof options !== "object" || options === null) {
    throw EventValidationError.forField(
      [],
      `EventBus options must be an object, got ${options === null ? "null" : typeof options}`,
    );
  }
  const read: Record<string, unknown> = {};
  let name: (typeof OPTION_NAMES)[number] = OPTION_NAMES[0];
  try {
    for (name of OPTION_NAMES) read[name] = options[name];
    const { storage } = options;
    if (typeof storage === "object" && storage !== null) {
      // The methods are checked below; reading them here turns a throwing getter into a named error.
      name = "storage";
      for (const method of ["append", "get", "list", "close"] as const) void storage[method];
    }
  } catch (error) {
    throw EventValidationError.forField(name, `could not be read: ${describeThrown(error)}`);
  }
  return read as EventBusOptions;
}

function checkOptions(options: EventBusOptions): void {
  const { storage, maxPayloadBytes } = options;
  if (storage !== undefined) {
    for (const method of ["append", "get", "list", "close"] as const) {
      if (typeof storage?.[method] !== "function") {
        throw EventValidationError.forField("storage", `must implement EventStorage; ${method}() is missing`);
      }
    }
  }
  for (const name of ["now", "generateId", "onListenerError"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "function") {
      throw EventValidationError.forField(name, `must be a function, got ${typeof value}`);
    }
  }
  if (maxPayloadBytes !== undefined && !(Number.isInteger(maxPayloadBytes) && maxPayloadBytes >= 2)) {
    throw EventValidationError.forField(
      "maxPayloadBytes",
      `must be an integer of at least 2, got ${String(maxPayloadBytes)}`,
    );
  }
}

function reportListenerError(error: unknown, event: Event): void {
  console.error(`[ad-seller-events] a listener failed on ${event.event_type} ${event.event_id}:`, error);
}
