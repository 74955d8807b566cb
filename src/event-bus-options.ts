import { EventValidationError } from "./errors.js";
import type { EventBusOptions } from "./event-bus.js";
import { checkOptionKeys, type OptionKeys } from "./option-keys.js";

/** Every option of `new EventBus(...)`; the compiler refuses this record when an option is missing from it. */
const EVENT_BUS_OPTION_KEYS: OptionKeys<EventBusOptions> = {
  storage: true,
  closeStorage: true,
  now: true,
  generateId: true,
  onListenerError: true,
  maxPayloadBytes: true,
  payloads: true,
};

/** Refuses unknown keys (with a "did you mean") and values of the wrong kind, before the bus is built. */
export function checkEventBusOptions(options: EventBusOptions): void {
  checkOptionKeys(options, EVENT_BUS_OPTION_KEYS, "EventBus");
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
