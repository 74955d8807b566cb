import { describeThrown } from "../event/json-value.js";
import { EventValidationError } from "./error-classes.js";

/**
 * Reads each known option of `options` once, into a plain record, so that a throwing getter or a Proxy trap becomes
 * an `EventValidationError` naming the option instead of a raw `TypeError` later. Call after `checkOptionKeys`.
 */
export function readOptionValues(options: object, names: readonly string[]): Record<string, unknown> {
  const read: Record<string, unknown> = {};
  let name = "options";
  try {
    for (name of names) read[name] = (options as Record<string, unknown>)[name];
  } catch (error) {
    throw EventValidationError.forField(name, `could not be read: ${describeThrown(error)}`);
  }
  return read;
}
