import { EventValidationError } from "../errors/error-classes.js";

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
  const parts: string[] = [];
  write(value, parts, "$");
  return parts.join("");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function write(value: unknown, parts: string[], path: string): void {
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value))
        refuse(path, "is a string with a lone surrogate; RFC 8785 needs well-formed Unicode");
      parts.push(JSON.stringify(value));
      return;
    case "number":
      if (!Number.isFinite(value)) refuse(path, `is ${String(value)}, which JSON cannot hold`);
      parts.push(JSON.stringify(value));
      return;
    case "boolean":
      parts.push(value ? "true" : "false");
      return;
    case "object":
      if (value === null) parts.push("null");
      else if (Array.isArray(value)) writeArray(value, parts, path);
      else writeObject(value as Record<string, unknown>, parts, path);
      return;
    default:
      refuse(path, `is a ${typeof value}, which JSON cannot hold`);
  }
}

function writeArray(values: readonly unknown[], parts: string[], path: string): void {
  parts.push("[");
  values.forEach((item, index) => {
    if (index > 0) parts.push(",");
    // As in JSON.stringify, an array hole or undefined item is written as null.
    if (item === undefined) parts.push("null");
    else write(item, parts, `${path}[${index}]`);
  });
  parts.push("]");
}

function writeObject(object: Record<string, unknown>, parts: string[], path: string): void {
  // Array.prototype.sort without a comparator orders strings by UTF-16 code units: exactly RFC 8785's member order.
  const names = Object.keys(object)
    .filter((name) => object[name] !== undefined)
    .sort();
  parts.push("{");
  names.forEach((name, index) => {
    if (index > 0) parts.push(",");
    const memberPath = `${path}.${name}`;
    if (LONE_SURROGATE.test(name)) refuse(memberPath, "is a member name with a lone surrogate");
    parts.push(JSON.stringify(name), ":");
    write(object[name], parts, memberPath);
  });
  parts.push("}");
}

function refuse(path: string, message: string): never {
  throw EventValidationError.forField(path, `${message}; canonical JSON (RFC 8785) is defined for JSON values only`);
}
