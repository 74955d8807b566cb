import { EventValidationError } from "../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../errors/option-keys.js";
import type { Event } from "../event/event.js";
import type { EventType } from "../event/event-type.js";
import { describeThrown, showValue } from "../event/json-value.js";
import type { NoPayloadSchemas, PayloadSchemas } from "../event/payload-schemas.js";
import type { EventStorage } from "../storage/types.js";
import type { BusErrorReport } from "./bus-errors.js";
import type { EventOutbox } from "./write/outbox-contract.js";

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
  /**
   * Receives every error the library would otherwise swallow, as `{ source, error, event? }`: failed listeners,
   * tail and consumer outages, outbox trouble, HTTP handler failures, webhook and forwarding problems. A per-call
   * `onError` (of `tail`, `consume`, `fileOutbox`, the HTTP handlers, webhooks, `forwardEvents`) takes precedence for
   * its call. Default: none; the first error of each source is then written as one `console.warn` line.
   */
  readonly onError?: ((report: BusErrorReport) => void) | undefined;
  /** Receives what a listener throws or rejects with, before `onError` would. Default: `onError`. */
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

/** Every option of `new EventBus(...)`; the compiler refuses this record when an option is missing from it. */
const EVENT_BUS_OPTION_KEYS: OptionKeys<EventBusOptions> = {
  storage: true,
  closeStorage: true,
  now: true,
  generateId: true,
  onError: true,
  onListenerError: true,
  maxPayloadBytes: true,
  payloads: true,
  outbox: true,
};

/**
 * Reads each option once into a plain copy (a getter or Proxy that throws names the option), refuses unknown keys
 * (with a "did you mean") and values of the wrong kind, before the bus is built.
 */
export function readEventBusOptions(given: EventBusOptions): EventBusOptions {
  const options = readOptions(given, EVENT_BUS_OPTION_KEYS, "EventBus");
  readStorageMethods(options.storage);
  const { storage, maxPayloadBytes, outbox } = options;
  if (outbox !== undefined && (typeof outbox?.write !== "function" || typeof outbox.attach !== "function")) {
    throw EventValidationError.forField("outbox", "must implement EventOutbox, e.g. fileOutbox({ path })");
  }
  if (storage !== undefined) {
    for (const method of ["append", "get", "list", "close"] as const) {
      if (typeof storage?.[method] !== "function") {
        throw EventValidationError.forField("storage", `must implement EventStorage; ${method}() is missing`);
      }
    }
  }
  for (const name of ["now", "generateId", "onError", "onListenerError"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "function") {
      throw EventValidationError.forField(name, `must be a function, got ${typeof value}`);
    }
  }
  if (maxPayloadBytes !== undefined && !(Number.isInteger(maxPayloadBytes) && maxPayloadBytes >= 2)) {
    throw EventValidationError.forField(
      "maxPayloadBytes",
      `must be an integer of at least 2, got ${showValue(maxPayloadBytes)}`,
    );
  }
  return options;
}

/** Reads the storage's methods once, so that a throwing getter there is a named error, not a `TypeError` later. */
function readStorageMethods(storage: EventStorage | undefined): void {
  if (typeof storage !== "object" || storage === null) return;
  try {
    for (const method of ["append", "get", "list", "close"] as const) void storage[method];
  } catch (error) {
    throw EventValidationError.forField("storage", `could not be read: ${describeThrown(error)}`);
  }
}
