import * as crypto from "node:crypto";
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import { z } from "zod";
import type { ValidationIssue } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { canonicalJson } from "./canonical-json.js";

/**
 * The `format` every digest of this version carries.
 *
 * @example
 * ```ts
 * if (digest.format !== DIGEST_FORMAT) throw new Error("a digest of another version");
 * ```
 */
export const DIGEST_FORMAT = "ad-seller-events/audit-digest@1";

/** Where each interval's chain starts when there is no previous digest. */
export const GENESIS = "0".repeat(64);

/**
 * One sealed event as the trail records it, in store order: what identifies it, the SHA-256 of its RFC 8785
 * canonical JSON, and the running chain value `chain = SHA-256(previous chain + "\n" + canonical JSON of the other
 * four fields)`, which starts at the previous digest's hash in each interval.
 *
 * @example
 * ```ts
 * const entry: SealEntry = { event_id, event_type: "deal.created", timestamp, hash: eventHash(event), chain };
 * ```
 */
export interface SealEntry {
  readonly event_id: string;
  readonly event_type: string;
  readonly timestamp: string;
  /** Hex SHA-256 of the event's canonical JSON. */
  readonly hash: string;
  /** Hex chain value up to and including this entry. */
  readonly chain: string;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const pruneRecordSchema = z.strictObject({
  key: z.number().int().nonnegative(),
  before: z.string(),
  types: z.array(z.string()),
  recorded_at: z.string(),
});
const digestSchema = z.strictObject({
  format: z.literal(DIGEST_FORMAT),
  trail: z.string(),
  sequence: z.number().int().positive(),
  interval: z.strictObject({ start: z.string(), end: z.string() }),
  previous: hex64.nullable(),
  types: z.array(z.string()).nullable(),
  entries: z.strictObject({
    from: z.number().int().nonnegative(),
    count: z.number().int().nonnegative(),
    first: z.string().nullable(),
    last: z.string().nullable(),
    chain: hex64,
  }),
  pruned: z.strictObject({ through: z.number().int().nonnegative(), records: z.array(pruneRecordSchema) }),
  key_id: z.string(),
  signature: z.string(),
});
const entrySchema = z.strictObject({
  event_id: z.string(),
  event_type: z.string(),
  timestamp: z.string(),
  hash: hex64,
  chain: hex64,
});

/**
 * A signed digest: one interval of the trail. `signature` is Ed25519 (base64) over the RFC 8785 canonical JSON of
 * every other field; the digest's own hash (which the next digest names in `previous`) is SHA-256 of the canonical
 * JSON of all of it, signature included. See docs/audit-trail.md for each field.
 *
 * @example
 * ```ts
 * const digest: AuditDigest = (await trail.sealNow()) as AuditDigest;
 * console.log(digest.sequence, digest.entries.count, digestHash(digest));
 * ```
 */
export type AuditDigest = z.infer<typeof digestSchema>;

/**
 * A prune record as a digest carries it: the record plus its key in the prune-record log.
 *
 * @example
 * ```ts
 * for (const record of digest.pruned.records as SealedPruneRecord[]) console.log(record.before, record.types);
 * ```
 */
export type SealedPruneRecord = z.infer<typeof pruneRecordSchema>;

/**
 * Hex SHA-256 of the event's RFC 8785 canonical JSON: what a seal entry records for it.
 *
 * @example
 * ```ts
 * const hash = eventHash(await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" }));
 * ```
 */
export function eventHash(event: Event): string {
  return sha256(eventJson(event));
}

// An Event's members in RFC 8785 order (UTF-16 code units), all strings but payload and metadata.
const EVENT_MEMBERS = [
  "deal_id",
  "event_id",
  "event_type",
  "flow_id",
  "flow_type",
  "metadata",
  "payload",
  "proposal_id",
  "session_id",
  "timestamp",
] as const;

/**
 * `canonicalJson(event)` for the event shape, without sorting the top level each time (sealing's hot path): the
 * schema fixes its ten members. Anything else (a member more or fewer) goes through the generic walk.
 */
function eventJson(event: Event): string {
  if (Object.keys(event).length !== EVENT_MEMBERS.length) return canonicalJson(event);
  let text = "{";
  for (const member of EVENT_MEMBERS) {
    const value: unknown = event[member];
    if (value === undefined) return canonicalJson(event);
    text += `${text.length === 1 ? "" : ","}"${member}":${canonicalJson(value)}`;
  }
  return `${text}}`;
}

/** The entry that follows `chain` for `event`. */
export function sealEntry(event: Event, chain: string): SealEntry {
  const fields = { event_id: event.event_id, event_type: event.event_type, timestamp: event.timestamp };
  return nextEntry(chain, { ...fields, hash: eventHash(event) });
}

/** Recomputes an entry's chain value from the previous one (what the verifier does with each stored entry). */
export function nextEntry(chain: string, fields: Omit<SealEntry, "chain">): SealEntry {
  const { event_id, event_type, timestamp, hash } = fields;
  const link = sha256(`${chain}\n${linkJson(fields)}`);
  return { event_id, event_type, timestamp, hash, chain: link };
}

/**
 * The canonical JSON of an entry's linked fields, written directly: the members are strings in RFC 8785 order, so
 * this is exactly `canonicalJson({ event_id, event_type, hash, timestamp })` without the generic walk (sealing's
 * hot path). A lone surrogate (which no valid event holds) falls back to the generic refusal.
 */
function linkJson(fields: Omit<SealEntry, "chain">): string {
  const { event_id, event_type, hash, timestamp } = fields;
  const text = `{"event_id":${JSON.stringify(event_id)},"event_type":${JSON.stringify(event_type)},"hash":${JSON.stringify(hash)},"timestamp":${JSON.stringify(timestamp)}}`;
  return text.includes("\\ud") ? canonicalJson({ event_id, event_type, hash, timestamp }) : text;
}

/** The stored text of an entry: its canonical JSON (members in RFC 8785 order, all strings). */
export function entryJson(entry: SealEntry): string {
  return `{"chain":${JSON.stringify(entry.chain)},${linkJson(entry).slice(1)}`;
}

/**
 * Hex SHA-256 of the digest's canonical JSON (signature included): what the next digest names as `previous`, and
 * what to publish beside it.
 *
 * @example
 * ```ts
 * console.log(`digest ${digest.sequence}: sha256 ${digestHash(digest)}`);
 * ```
 */
export function digestHash(digest: AuditDigest): string {
  return sha256(canonicalJson(digest));
}

/** Signs the digest's fields with an Ed25519 private key. */
export function signDigest(fields: Omit<AuditDigest, "signature">, key: KeyObject): AuditDigest {
  const signature = sign(null, Buffer.from(canonicalJson(fields)), key).toString("base64");
  return { ...fields, signature };
}

/** True when `signature` is a valid Ed25519 signature of the other fields under `key`. */
export function signatureValid(digest: AuditDigest, key: KeyObject): boolean {
  const { signature, ...fields } = digest;
  return verify(null, Buffer.from(canonicalJson(fields)), key, Buffer.from(signature, "base64"));
}

/** The first 16 hex digits of SHA-256 of the key's SPKI form: says which key signed, without being the key. */
export function keyId(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);
}

/** The digest in `text`, or the reason it is not one. */
export function parseDigest(text: string): AuditDigest | string {
  return parseWith(digestSchema, text);
}

/** The entry in `text`, or the reason it is not one. */
export function parseEntry(text: string): SealEntry | string {
  return parseWith(entrySchema, text);
}

function parseWith<T>(schema: z.ZodType<T>, text: string): T | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "is not JSON";
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : z.prettifyError(result.error).replaceAll("\n", " ");
}

/**
 * An Ed25519 key from a `KeyObject` or PEM text, checked: `kind` says which half the caller had to give. Anything
 * else adds an issue naming `field` to `issues` and gives `undefined`.
 */
export function readEd25519Key(
  value: unknown,
  kind: "private" | "public",
  field: string,
  issues: ValidationIssue[],
): KeyObject | undefined {
  let key: KeyObject;
  try {
    if (typeof value === "string") key = kind === "private" ? createPrivateKey(value) : createPublicKey(value);
    else if (value instanceof KeyObject)
      key = kind === "public" && value.type === "private" ? createPublicKey(value) : value;
    else throw new Error("not a key");
  } catch {
    issues.push({ path: [field], message: `must be an Ed25519 ${kind} KeyObject or PEM text, got ${typeof value}` });
    return undefined;
  }
  if (key.asymmetricKeyType === "ed25519" && key.type === kind) return key;
  issues.push({
    path: [field],
    message: `must be an Ed25519 ${kind} key, got a ${key.asymmetricKeyType ?? key.type} ${key.type} key`,
  });
  return undefined;
}

// One-shot hashing (Node >= 20.12) skips a Hash object per call: sealing hashes twice per event.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

function sha256(text: string): string {
  return oneShot === undefined ? createHash("sha256").update(text).digest("hex") : oneShot("sha256", text, "hex");
}
