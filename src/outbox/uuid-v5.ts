import { createHash } from "node:crypto";

/**
 * The namespace of the ids `importAuditFallback` gives records that have none: a fixed UUID of this library's own
 * (random, generated once), so that the same record always gets the same id, and no other namespace's ids collide.
 *
 * @example
 * ```ts
 * const id = uuidV5(AUDIT_FALLBACK_NAMESPACE, canonicalJson(record));
 * ```
 */
export const AUDIT_FALLBACK_NAMESPACE = "67be3fb2-bb43-4e3a-a33f-702e05faeebe";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An RFC 9562 version 5 UUID: SHA-1 of the namespace's 16 bytes followed by the name's UTF-8 bytes, with the
 * version and variant bits set. Equal to Python's `uuid.uuid5(namespace, name)`.
 *
 * @example
 * ```ts
 * uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"); // "886313e1-3b8a-5372-9b90-0c9aee199e5d"
 * ```
 */
export function uuidV5(namespace: string, name: string): string {
  if (!UUID.test(namespace)) throw new TypeError(`the namespace must be a UUID, got ${namespace}`);
  const hash = createHash("sha1")
    .update(Buffer.from(namespace.replaceAll("-", ""), "hex"))
    .update(name, "utf8")
    .digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// One canonical form for the library: the audit trail's RFC 8785 canonicalizer (same text for every JSON value).
export { canonicalJson } from "../audit/canonical-json.js";
