import { describeThrown } from "../event/json-value.js";
import { EventValidationError, type ValidationIssue } from "./error-classes.js";
import { didYouMean } from "./suggestions.js";

/**
 * Every key of an options interface, as a record so that the compiler refuses a list that misses one (add a new
 * option to its interface and to this record).
 *
 * @example
 * ```ts
 * const KEYS: OptionKeys<MemoryStorageOptions> = { maxEvents: true };
 * ```
 */
export type OptionKeys<Options> = { readonly [K in keyof Required<Options>]: true };

/**
 * Refuses an options object that is not an object or holds a key outside `known`, naming each unknown key with the
 * closest known one: a misspelt option (`maxPayloadByte`) must not be silently ignored. Only own keys are read.
 * Shared by `new EventBus(...)` and every adapter factory.
 *
 * @example
 * ```ts
 * checkOptionKeys(options, POSTGRES_OPTION_KEYS, "postgresStorage");
 * ```
 */
export function checkOptionKeys(options: unknown, allowed: Readonly<Record<string, true>>, where: string): void {
  const known = Object.keys(allowed);
  let keys: string[];
  try {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      const got = options === null ? "null" : Array.isArray(options) ? "an array" : typeof options;
      throw EventValidationError.forField([], `${where} takes an options object, got ${got}`);
    }
    keys = Object.keys(options);
  } catch (error) {
    if (EventValidationError.is(error)) throw error;
    // A revoked Proxy throws from Array.isArray and Object.keys alike.
    throw EventValidationError.forField([], `${where} options could not be read: ${describeThrown(error)}`);
  }
  const issues: ValidationIssue[] = [];
  for (const key of keys) {
    if (Object.hasOwn(allowed, key)) continue;
    const hint = didYouMean(key, known);
    issues.push({
      path: [key],
      message: `is not an option of ${where}${hint || `; the options are ${known.join(", ")}`}`,
    });
  }
  if (issues.length > 0) throw new EventValidationError(issues);
}
