import { EventValidationError } from "./errors.js";
import type { EventBusOptions } from "./event-bus.js";
import { describeThrown } from "./json.js";
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
  outbox: true,
};

/**
 * Reads each option once into a plain copy (a getter or Proxy that throws names the option), refuses unknown keys
 * (with a "did you mean") and values of the wrong kind, before the bus is built.
 */
export function readEventBusOptions(given: EventBusOptions): EventBusOptions {
  checkOptionKeys(given, EVENT_BUS_OPTION_KEYS, "EventBus");
  const options = readEachOption(given);
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
  return options;
}

const OPTION_NAMES = Object.keys(EVENT_BUS_OPTION_KEYS) as (keyof EventBusOptions)[];

function readEachOption(given: EventBusOptions): EventBusOptions {
  const read: Record<string, unknown> = {};
  let name: string = "options";
  try {
    for (name of OPTION_NAMES) read[name] = given[name as keyof EventBusOptions];
    const { storage } = read as EventBusOptions;
    if (typeof storage === "object" && storage !== null) {
      // The methods are checked by the caller; reading them here turns a throwing getter into a named error.
      name = "storage";
      for (const method of ["append", "get", "list", "close"] as const) void storage[method];
    }
  } catch (error) {
    throw EventValidationError.forField(name, `could not be read: ${describeThrown(error)}`);
  }
  return read as EventBusOptions;
}
