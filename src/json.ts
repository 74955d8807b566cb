import type { ValidationIssue } from "./errors.js";

/** A JSON value as the event payload and metadata hold it. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON object: the shape of `payload` and `metadata`. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** Nesting deeper than this is refused: it is never a real payload, and it would exhaust the stack. */
export const MAX_JSON_DEPTH = 64;
const MAX_ISSUES = 20;
const EMPTY_OBJECT: JsonObject = Object.freeze({});

/**
 * Checks that `value` is a plain JSON object within `maxBytes` serialised (UTF-8) and returns a deeply frozen copy,
 * or the issues found. The copy comes from `JSON.parse`, which builds objects that are cheap to freeze, and it
 * shares nothing with the caller's object.
 */
export function toFrozenJsonObject(
  value: unknown,
  path: readonly (string | number)[],
  maxBytes: number,
): { ok: true; value: JsonObject } | { ok: false; issues: ValidationIssue[] } {
  if (value === undefined) return { ok: true, value: EMPTY_OBJECT };
  const issues: ValidationIssue[] = [];
  if (!isPlainObject(value)) {
    issues.push({ path, message: `must be a plain JSON object, got ${describeValue(value)}` });
    return { ok: false, issues };
  }
  collectJsonIssues(value, [...path], issues, []);
  if (issues.length > 0) return { ok: false, issues };
  const text = JSON.stringify(value);
  if (text === "{}") return { ok: true, value: EMPTY_OBJECT };
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    issues.push({ path, message: `is ${bytes} bytes as JSON, over the limit of ${maxBytes} bytes (maxPayloadBytes)` });
    return { ok: false, issues };
  }
  return { ok: true, value: deepFreeze(JSON.parse(text) as JsonObject) };
}

/**
 * Freezes a value and everything reachable from it, in place, and returns it.
 *
 * @example
 * ```ts
 * const settings = deepFreeze({ floors: [1.5, 2] });
 * Object.isFrozen(settings.floors); // true
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
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

function collectJsonIssues(value: unknown, path: (string | number)[], issues: ValidationIssue[], ancestors: object[]) {
  if (issues.length >= MAX_ISSUES) return;
  switch (typeof value) {
    case "string":
      if (!isPortableString(value)) issues.push({ path: [...path], message: PORTABLE_STRING_RULE });
      return;
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) issues.push({ path: [...path], message: `${value} is not a JSON number` });
      return;
    case "object":
      break;
    default:
      issues.push({ path: [...path], message: `${describeValue(value)} is not a JSON value` });
      return;
  }
  if (value === null) return;
  if (ancestors.includes(value)) {
    issues.push({ path: [...path], message: "is a circular reference; JSON cannot hold cycles" });
    return;
  }
  if (ancestors.length >= MAX_JSON_DEPTH) {
    issues.push({ path: [...path], message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
    return;
  }
  ancestors.push(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      path.push(index);
      if (index in value) collectJsonIssues(value[index], path, issues, ancestors);
      else issues.push({ path: [...path], message: "is a hole in a sparse array; JSON has no such value" });
      path.pop();
    }
  } else if (isPlainObject(value)) {
    if (Object.getOwnPropertySymbols(value).length > 0) {
      issues.push({ path: [...path], message: "has symbol keys, which JSON drops" });
    }
    for (const key of Object.keys(value)) {
      if (!isPortableString(key)) issues.push({ path: [...path, key], message: `key ${PORTABLE_STRING_RULE}` });
      path.push(key);
      collectJsonIssues((value as Record<string, unknown>)[key], path, issues, ancestors);
      path.pop();
    }
  } else {
    issues.push({
      path: [...path],
      message: `${describeValue(value)} is not a plain JSON object or array; convert it first (e.g. date.toISOString())`,
    });
  }
  ancestors.pop();
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
