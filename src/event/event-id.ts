// The one rule for what an event id is, the one `eventSchema` applies (zod's `z.uuid()`): an RFC 9562 UUID of
// version 1 to 8 with the 10xx variant in any case, or the nil or max UUID. Stored ids are always lowercase.

const VERSIONED = "[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/** The lowercase (stored) form of an event id, as a pattern source for larger expressions (the wire header). */
export const CANONICAL_UUID_SOURCE = `(?:${VERSIONED}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})`;

const CANONICAL = new RegExp(`^${CANONICAL_UUID_SOURCE}$`);
const VERSIONED_ANY_CASE = new RegExp(`^${VERSIONED}$`, "i");

/** True when `value` is a valid event id in any case (a caller's input, a cursor, a path segment). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && value.length === 36 && (CANONICAL.test(value) || VERSIONED_ANY_CASE.test(value));
}

/** True when `value` is a valid event id in its stored, lowercase form. */
export function isCanonicalUuid(value: string): boolean {
  return CANONICAL.test(value);
}
