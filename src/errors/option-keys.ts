import { describeThrown, showValue } from "../event/json-value.js";
import { EventValidationError, MAX_REPORTED_ISSUES, type ValidationIssue } from "./error-classes.js";
import { didYouMean } from "./suggestions.js";

/**
 * Every key of an options interface, as a record so that the compiler refuses a list that misses one (add a new
 * option to its interface and to this record).
 */
export type OptionKeys<Options> = { readonly [K in keyof Required<Options>]: true };

/**
 * Refuses an options object that is not a plain object, holds a key outside `allowed` (naming the closest known
 * one: a misspelt `maxPayloadByte` must not be silently ignored) or has a value that throws when read (a getter, a
 * Proxy). Every failure is an `EventValidationError` naming the option, never a raw `TypeError`.
 */
export function checkOptionKeys(options: unknown, allowed: Readonly<Record<string, true>>, where: string): void {
  copyOptions(options, allowed, where);
}

/**
 * {@link checkOptionKeys}, then a plain copy holding each option read exactly once (options left `undefined` are
 * left out), so that later reads cannot meet a getter or a Proxy trap.
 */
export function readOptions<Options>(options: Options, allowed: OptionKeys<Options>, where: string): Options {
  return copyOptions(options, allowed, where) as Options;
}

function copyOptions(
  options: unknown,
  allowed: Readonly<Record<string, true>>,
  where: string,
): Record<string, unknown> {
  const keys = ownKeys(options, where);
  const known = Object.keys(allowed);
  const issues: ValidationIssue[] = [];
  for (const key of keys) {
    if (Object.hasOwn(allowed, key)) continue;
    // Suggestions cost an edit distance per known key: only for the keys the error will list.
    const hint = issues.length < MAX_REPORTED_ISSUES ? didYouMean(key, known) : "";
    issues.push({
      path: [key],
      message: `is not an option of ${where}${hint || `; the options are ${known.join(", ")}`}`,
    });
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[key];
    } catch (error) {
      throw EventValidationError.forField(key, `could not be read: ${describeThrown(error)}`);
    }
    if (value !== undefined) copy[key] = value;
  }
  return copy;
}

/** The own string keys of a plain object (enumerable or not, so that no getter escapes the reading). */
function ownKeys(options: unknown, where: string): string[] {
  try {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      const got = options === null ? "null" : Array.isArray(options) ? "an array" : typeof options;
      throw EventValidationError.forField([], `${where} takes an options object, got ${got}`);
    }
    const prototype: unknown = Object.getPrototypeOf(options);
    // Object.prototype of any realm, or none: a Map, a Date or a class instance does not hold its options as keys.
    if (prototype !== null && Object.getPrototypeOf(prototype) !== null) {
      throw EventValidationError.forField([], `${where} takes a plain options object, got ${showValue(options)}`);
    }
    return Object.getOwnPropertyNames(options);
  } catch (error) {
    if (EventValidationError.is(error)) throw error;
    // A revoked Proxy throws from Array.isArray, getPrototypeOf and the key listing alike.
    throw EventValidationError.forField([], `${where} options could not be read: ${describeThrown(error)}`);
  }
}
