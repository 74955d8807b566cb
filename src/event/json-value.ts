import type { ValidationIssue } from "../errors/error-classes.js";

/**
 * A JSON value as the event payload and metadata hold it.
 *
 * @example
 * ```ts
 * const round: JsonValue | undefined = event.payload.round;
 * if (typeof round === "number") rounds.push(round);
 * ```
 */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A JSON object: the shape of `payload` and `metadata`.
 *
 * @example
 * ```ts
 * function cpmOf(payload: JsonObject): number | undefined {
 *   return typeof payload.cpm === "number" ? payload.cpm : undefined;
 * }
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
 *
 * The work is bounded by `maxBytes`, not by the input: the walk keeps a lower bound of the JSON size (every UTF-16
 * unit is at least one UTF-8 byte) and stops as soon as it passes the cap, and array lengths, key counts and string
 * lengths are checked against the bytes left before anything is copied or scanned. Whatever the input does when read
 * (a getter or Proxy trap that throws, a revoked Proxy), the outcome is an issue naming the path, never an exception.
 */
export function toFrozenJsonObject(
  value: unknown,
  path: readonly (string | number)[],
  maxBytes: number,
): { ok: true; value: JsonObject } | { ok: false; issues: ValidationIssue[] } {
  if (value === undefined) return { ok: true, value: EMPTY_OBJECT };
  const walk: JsonWalk = {
    issues: [],
    ancestors: [],
    path: [...path],
    minBytes: 0,
    maxBound: 0,
    maxBytes,
    rootLength: path.length,
    stop: false,
  };
  let copy: JsonObject | undefined;
  try {
    if (!isPlainObject(value)) {
      return { ok: false, issues: [{ path, message: `must be a plain JSON object, got ${describeValue(value)}` }] };
    }
    copy = copyJsonValue(value, walk) as JsonObject;
  } catch (error) {
    // A getter or Proxy trap threw (or a revoked Proxy was touched): the walk's path says where it was reading.
    walk.issues.length = Math.min(walk.issues.length, MAX_ISSUES - 1);
    walk.issues.push({ path: [...walk.path], message: `could not be read: ${describeThrown(error)}` });
  }
  if (walk.issues.length > 0 || copy === undefined) return { ok: false, issues: walk.issues };
  // The upper bound is cheap and generous; serialise only when it cannot rule out the cap.
  if (walk.maxBound > maxBytes) {
    const bytes = Buffer.byteLength(JSON.stringify(copy));
    if (bytes > maxBytes) {
      return { ok: false, issues: [{ path, message: overCapMessage(`is ${bytes} bytes as JSON`, maxBytes) }] };
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
  /** A lower bound of the UTF-8 JSON size so far: one byte per UTF-16 unit, escapes not counted. */
  minBytes: number;
  /** An upper bound of the UTF-8 JSON size so far: at most 6 bytes per UTF-16 unit of a string (`\\uXXXX`). */
  maxBound: number;
  readonly maxBytes: number;
  /** Length of the path of the value the walk started from (the field, e.g. `["payload"]`). */
  readonly rootLength: number;
  /** Set once the issues are full or the cap is certainly passed: every loop ends. */
  stop: boolean;
}

/** Validates one JSON value and returns a frozen copy of it; problems are recorded in `walk.issues`. */
function copyJsonValue(value: unknown, walk: JsonWalk): unknown {
  switch (typeof value) {
    case "string":
      // Checked before scanning: a 100 MB string is refused without reading it.
      if (!addBytes(walk, value.length + 2, value.length * 6 + 2)) return undefined;
      if (!isPortableString(value)) addIssue(walk, PORTABLE_STRING_RULE);
      return value;
    case "number":
      if (!Number.isFinite(value)) addIssue(walk, `${value} is not a JSON number`);
      addBytes(walk, 1, 24);
      return value;
    case "boolean":
      addBytes(walk, 4, 5);
      return value;
    case "object":
      if (value === null) {
        addBytes(walk, 4, 4);
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
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) {
    return addIssue(
      walk,
      `${describeValue(value)} is not a plain JSON object or array; convert it first (e.g. date.toISOString())`,
    );
  }
  walk.ancestors.push(value);
  const copy = isArray ? copyJsonArray(value as readonly unknown[], walk) : copyJsonProperties(value, walk);
  walk.ancestors.pop();
  return copy === undefined ? undefined : Object.freeze(copy);
}

function copyJsonArray(value: readonly unknown[], walk: JsonWalk): unknown[] | undefined {
  const { length } = value;
  if (!Number.isSafeInteger(length) || length < 0) return addIssue(walk, `has an invalid length (${String(length)})`);
  // Brackets, commas and at least one byte per element: a length past the bytes left is refused unread. The
  // elements' own bytes are counted as they are walked.
  if (!fitsWithin(walk, 2 * length + 1) || !addBytes(walk, Math.max(2, length + 1), 2)) return undefined;
  const copy: unknown[] = [];
  for (let index = 0; index < length && !walk.stop; index++) {
    walk.path.push(index);
    if (index in value) copy.push(copyJsonValue(value[index], walk));
    else addIssue(walk, "is a hole in a sparse array; JSON has no such value");
    walk.path.pop();
    walk.maxBound += 1;
  }
  return copy;
}

function copyJsonProperties(value: object, walk: JsonWalk): Record<string, unknown> | undefined {
  // The key count is checked against the bytes left before any value is read or copied: each entry takes at least
  // `"":0` and a comma. Keys and values are counted as they are walked.
  const keys = Object.keys(value);
  if (!fitsWithin(walk, 5 * keys.length + 1) || !addBytes(walk, 2, 2)) return undefined;
  if (Object.getOwnPropertySymbols(value).length > 0) addIssue(walk, "has symbol keys, which JSON drops");
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (walk.stop) break;
    walk.path.push(key);
    if (!isPortableString(key)) addIssue(walk, `key ${PORTABLE_STRING_RULE}`);
    const item = copyJsonValue(source[key], walk);
    // Assigning "__proto__" would set the copy's prototype; JSON means an own property by that name.
    if (key === "__proto__")
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
    walk.path.pop();
    // `"key":` and, after the first entry, a comma.
    addBytes(walk, key.length + (key === keys[0] ? 3 : 4), key.length * 6 + 4);
  }
  return copy;
}

/** False (and the walk stopped) when `atLeast` more bytes cannot fit: checked before reading a container. */
function fitsWithin(walk: JsonWalk, atLeast: number): boolean {
  return walk.minBytes + atLeast <= walk.maxBytes || addBytes(walk, atLeast, atLeast);
}

/** Counts bytes; false (and the walk stopped, with one issue at the root) once the cap is certainly passed. */
function addBytes(walk: JsonWalk, atLeast: number, atMost: number): boolean {
  walk.minBytes += atLeast;
  walk.maxBound += atMost;
  if (walk.minBytes <= walk.maxBytes) return true;
  if (!walk.stop) {
    const inside = walk.path.slice(walk.rootLength);
    const where = inside.length > 0 ? ` (passed at ${inside.join(".")}; nothing after it was read)` : "";
    const message = `${overCapMessage(`is more than ${walk.maxBytes} bytes as JSON`, walk.maxBytes)}${where}`;
    walk.issues.length = 0;
    walk.issues.push({ path: walk.path.slice(0, walk.rootLength), message });
    walk.stop = true;
  }
  return false;
}

function addIssue(walk: JsonWalk, message: string): undefined {
  if (walk.issues.length < MAX_ISSUES) walk.issues.push({ path: [...walk.path], message });
  if (walk.issues.length >= MAX_ISSUES) walk.stop = true;
  return undefined;
}

/** What `isPortableString` refuses, phrased for an error message. */
export const PORTABLE_STRING_RULE =
  "must be well-formed Unicode without U+0000 (every storage backend must be able to hold it; PostgreSQL cannot)";

/** False for strings holding U+0000 or a lone surrogate, which PostgreSQL text and jsonb refuse. */
export function isPortableString(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

function overCapMessage(size: string, maxBytes: number): string {
  return `${size}, over the limit of ${maxBytes} bytes (maxPayloadBytes)`;
}

/** Words what a getter or trap threw, without letting a hostile error object throw again or flood the message. */
export function describeThrown(error: unknown): string {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch {
    return "an exception that cannot be shown";
  }
}

/**
 * Shows a caller's value in an error message: strings quoted and cut to 64 characters, objects by kind only, so
 * that a huge string or a hostile object can neither flood the message nor throw while it is being shown.
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    return value.length > 64
      ? `${JSON.stringify(value.slice(0, 64))}... (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return describeValue(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describeValue(value: unknown): string {
  try {
    return describeKind(value);
  } catch {
    return "an object that cannot be inspected (a Proxy whose traps throw, or a revoked one)";
  }
}

function describeKind(value: unknown): string {
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
