import type { ValidationIssue } from "./errors.js";

/**
 * A JSON value as the event payload and metadata hold it.
 *
 * @example
 * ```ts
 * const value: JsonValue = { lines: [{ cpm: 12.5, booked: true }] };
 * ```
 */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A JSON object: the shape of `payload` and `metadata`.
 *
 * @example
 * ```ts
 * const payload: JsonObject = { round: 2, counter_cpm: 11 };
 * ```
 */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Nesting deeper than this is refused: it is never a real payload, and it would exhaust the stack. */
export const MAX_JSON_DEPTH = 64;
const MAX_ISSUES = 20;
const EMPTY_OBJECT: JsonObject = Object.freeze({});

/**
 * Checks that `value` is a plain JSON object within `maxBytes` serialised (UTF-8) and returns a deeply frozen copy,
 * or the issues found. One walk validates, copies and freezes; the copy shares nothing with the caller's object.
 */
export function toFrozenJsonObject(
  value: unknown,
  path: readonly (string | number)[],
  maxBytes: number,
): { ok: true; value: JsonObject } | { ok: false; issues: ValidationIssue[] } {
  if (value === undefined) return { ok: true, value: EMPTY_OBJECT };
  if (!isPlainObject(value)) {
    return { ok: false, issues: [{ path, message: `must be a plain JSON object, got ${describeValue(value)}` }] };
  }
  const walk: JsonWalk = { issues: [], ancestors: [], path: [...path], sizeBound: 0 };
  const copy = copyJsonValue(value, walk) as JsonObject;
  if (walk.issues.length > 0) return { ok: false, issues: walk.issues };
  // The walk's bound is cheap and generous; serialise only when it cannot rule out the cap.
  if (walk.sizeBound > maxBytes) {
    const bytes = Buffer.byteLength(JSON.stringify(copy));
    if (bytes > maxBytes) {
      const message = `is ${bytes} bytes as JSON, over the limit of ${maxBytes} bytes (maxPayloadBytes)`;
      return { ok: false, issues: [{ path, message }] };
    }
  }
  return { ok: true, value: Object.keys(copy).length === 0 ? EMPTY_OBJECT : copy };
}

/** Deep equality of JSON values, blind to key order (PostgreSQL `jsonb` reorders keys). */
export function jsonEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== "object" || typeof right !== "object" || left === null || right === null) return false;
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  return leftKeys.every(
    (key) =>
      Object.hasOwn(right, key) &&
      jsonEqual((left as Record<string, unknown>)[key], (right as Record<string, unknown>)[key]),
  );
}

interface JsonWalk {
  readonly issues: ValidationIssue[];
  readonly ancestors: object[];
  readonly path: (string | number)[];
  /** An upper bound of the UTF-8 JSON size: at most 6 bytes per UTF-16 unit of a string (`\\uXXXX`). */
  sizeBound: number;
}

/** Validates one JSON value and returns a frozen copy of it; problems are recorded in `walk.issues`. */
function copyJsonValue(value: unknown, walk: JsonWalk): unknown {
  switch (typeof value) {
    case "string":
      if (!isPortableString(value)) addIssue(walk, PORTABLE_STRING_RULE);
      walk.sizeBound += value.length * 6 + 2;
      return value;
    case "number":
      if (!Number.isFinite(value)) addIssue(walk, `${value} is not a JSON number`);
      walk.sizeBound += 24;
      return value;
    case "boolean":
      walk.sizeBound += 5;
      return value;
    case "object":
      if (value === null) {
        walk.sizeBound += 4;
        return null;
      }
      return copyJsonContainer(value, walk);
    default:
      addIssue(walk, `${describeValue(value)} is not a JSON value`);
      return undefined;
  }
}

function copyJsonContainer(value: object, walk: JsonWalk): unknown {
  if (walk.ancestors.includes(value)) return addIssue(walk, "is a circular reference; JSON cannot hold cycles");
  if (walk.ancestors.length >= MAX_JSON_DEPTH) return addIssue(walk, `nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (!Array.isArray(value) && !isPlainObject(value)) {
    return addIssue(
      walk,
      `${describeValue(value)} is not a plain JSON object or array; convert it first (e.g. date.toISOString())`,
    );
  }
  walk.ancestors.push(value);
  const copy = Array.isArray(value) ? copyJsonArray(value, walk) : copyJsonProperties(value, walk);
  walk.ancestors.pop();
  return Object.freeze(copy);
}

function copyJsonArray(value: readonly unknown[], walk: JsonWalk): unknown[] {
  const copy: unknown[] = [];
  walk.sizeBound += 2;
  for (let index = 0; index < value.length && walk.issues.length < MAX_ISSUES; index++) {
    walk.path.push(index);
    if (index in value) copy.push(copyJsonValue(value[index], walk));
    else addIssue(walk, "is a hole in a sparse array; JSON has no such value");
    walk.path.pop();
    walk.sizeBound += 1;
  }
  return copy;
}

function copyJsonProperties(value: Record<string, unknown>, walk: JsonWalk): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  walk.sizeBound += 2;
  if (Object.getOwnPropertySymbols(value).length > 0) addIssue(walk, "has symbol keys, which JSON drops");
  for (const key of Object.keys(value)) {
    if (walk.issues.length >= MAX_ISSUES) break;
    walk.path.push(key);
    if (!isPortableString(key)) addIssue(walk, `key ${PORTABLE_STRING_RULE}`);
    const item = copyJsonValue(value[key], walk);
    // Assigning "__proto__" would set the copy's prototype; JSON means an own property by that name.
    if (key === "__proto__")
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
    walk.path.pop();
    walk.sizeBound += key.length * 6 + 4;
  }
  return copy;
}

function addIssue(walk: JsonWalk, message: string): undefined {
  if (walk.issues.length < MAX_ISSUES) walk.issues.push({ path: [...walk.path], message });
  return undefined;
}

/** What `isPortableString` refuses, phrased for an error message. */
export const PORTABLE_STRING_RULE =
  "must be well-formed Unicode without U+0000 (every storage backend must be able to hold it; PostgreSQL cannot)";

/** False for strings holding U+0000 or a lone surrogate, which PostgreSQL text and jsonb refuse. */
export function isPortableString(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "bigint":
      return `a BigInt (${value}n)`;
    case "symbol":
      return "a symbol";
    case "object": {
      const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
      return name ? `a ${name} instance` : "an object";
    }
    default:
      return `a ${typeof value}`;
  }
}
