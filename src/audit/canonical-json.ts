import { EventValidationError } from "../errors/error-classes.js";

const LONE_SURROGATE_PATTERN = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// String.prototype.isWellFormed (Node >= 20) is native and far cheaper than the pattern on every string.
const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function";
const LONE_SURROGATE = {
  test: (text: string): boolean =>
    hasWellFormed ? !(text as string & { isWellFormed(): boolean }).isWellFormed() : LONE_SURROGATE_PATTERN.test(text),
};

/**
 * The JSON Canonicalization Scheme (RFC 8785) text of a JSON value: no whitespace, object members sorted by the
 * UTF-16 code units of their names at every level, strings escaped and numbers written exactly as ECMAScript's
 * `JSON.stringify` writes them (shortest round-trip form, `-0` as `0`, exponents from 1e21). The same content gives
 * the same text, and so the same hash, whatever the key order or spacing it arrived with.
 *
 * Members whose value is `undefined` are left out, as `JSON.stringify` does. What JSON cannot hold exactly is
 * refused with `EventValidationError` naming the path: `NaN`, `Infinity`, a `bigint`, a function, a symbol, and a
 * string with a lone surrogate (RFC 8785 section 3.2.2.2 requires well-formed Unicode).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }); // '{"a":[true,{"c":"x","d":null}],"b":1}'
 * canonicalJson({ n: 1e21, m: 0.000001, z: -0 }); // '{"m":0.000001,"n":1e+21,"z":0}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const text = write(value);
  // Fast path without bookkeeping; only a refusal walks again to name the path.
  if (text !== undefined) return text;
  return refuse(value, "$");
}

/** The canonical text, or `undefined` when something in `value` is not JSON. */
function write(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return LONE_SURROGATE.test(value) ? undefined : JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      return Array.isArray(value) ? writeArray(value) : writeObject(value as Record<string, unknown>);
    default:
      return undefined;
  }
}

function writeArray(values: readonly unknown[]): string | undefined {
  let text = "[";
  for (let index = 0; index < values.length; index++) {
    const item = values[index];
    // As in JSON.stringify, an array hole or undefined item is written as null.
    const written = item === undefined ? "null" : write(item);
    if (written === undefined) return undefined;
    text += index === 0 ? written : `,${written}`;
  }
  return `${text}]`;
}

function writeObject(object: Record<string, unknown>): string | undefined {
  // Array.prototype.sort without a comparator orders strings by UTF-16 code units: exactly RFC 8785's member order.
  const names = Object.keys(object).sort();
  let text = "{";
  for (const name of names) {
    const member = object[name];
    if (member === undefined) continue;
    const written = write(member);
    if (written === undefined || LONE_SURROGATE.test(name)) return undefined;
    text += `${text.length === 1 ? "" : ","}${JSON.stringify(name)}:${written}`;
  }
  return `${text}}`;
}

/** Finds the first value that is not JSON and throws naming its path. */
function refuse(value: unknown, path: string): never {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (item !== undefined && write(item) === undefined) refuse(item, `${path}[${index}]`);
    });
  } else if (typeof value === "object" && value !== null) {
    for (const [name, member] of Object.entries(value)) {
      if (LONE_SURROGATE.test(name)) fail(`${path}.${name}`, "is a member name with a lone surrogate");
      if (member !== undefined && write(member) === undefined) refuse(member, `${path}.${name}`);
    }
  }
  if (typeof value === "string") fail(path, "is a string with a lone surrogate; RFC 8785 needs well-formed Unicode");
  if (typeof value === "number") fail(path, `is ${String(value)}, which JSON cannot hold`);
  return fail(path, `is a ${typeof value}, which JSON cannot hold`);
}

function fail(path: string, message: string): never {
  throw EventValidationError.forField(path, `${message}; canonical JSON (RFC 8785) is defined for JSON values only`);
}
