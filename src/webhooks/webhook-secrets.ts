import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { EventValidationError } from "../errors/error-classes.js";
import { showValue } from "../event/json-value.js";

/** A signing or verifying key, read from its Standard Webhooks text form. */
export type WebhookKey =
  | { readonly scheme: "v1"; readonly key: Buffer }
  | { readonly scheme: "v1a"; readonly key: KeyObject; readonly canSign: boolean };

const MIN_HMAC_BYTES = 24;
const MAX_HMAC_BYTES = 64;
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI).
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex");
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads a secret: `whsec_` + base64 of 24 to 64 random bytes (HMAC-SHA256, scheme `v1`), `whsk_` + base64 of a
 * 32-byte Ed25519 seed (signs, scheme `v1a`) or `whpk_` + base64 of a 32-byte Ed25519 public key (verifies only).
 */
export function readWebhookKey(secret: unknown, field: string | readonly (string | number)[]): WebhookKey {
  const fail = (what: string) => EventValidationError.forField(field, what);
  if (typeof secret !== "string" || secret.length > 200)
    throw fail(`must be a whsec_, whsk_ or whpk_ secret string, got ${showValue(secret)}`);
  const [prefix, encoded = ""] = secret.split("_", 2);
  if (!BASE64.test(encoded)) throw fail("must be a prefix (whsec_, whsk_, whpk_) followed by base64");
  const bytes = Buffer.from(encoded, "base64");
  if (prefix === "whsec") {
    if (bytes.length < MIN_HMAC_BYTES || bytes.length > MAX_HMAC_BYTES)
      throw fail(`a whsec_ secret must hold ${MIN_HMAC_BYTES} to ${MAX_HMAC_BYTES} bytes, got ${bytes.length}`);
    return { scheme: "v1", key: bytes };
  }
  if ((prefix === "whsk" || prefix === "whpk") && bytes.length === 32) {
    const canSign = prefix === "whsk";
    const der = Buffer.concat([canSign ? ED25519_PKCS8 : ED25519_SPKI, bytes]);
    const key = canSign
      ? createPrivateKey({ key: der, format: "der", type: "pkcs8" })
      : createPublicKey({ key: der, format: "der", type: "spki" });
    return { scheme: "v1a", key, canSign };
  }
  throw fail("must be whsec_ + base64 of 24 to 64 bytes, or whsk_ / whpk_ + base64 of a 32-byte Ed25519 key");
}

/**
 * A new random secret: `"whsec_..."` (24 bytes, HMAC) by default, or an Ed25519 pair for `v1a` signatures (keep
 * `signing`, give the receiver `verifying`).
 *
 * @example
 * ```ts
 * const secret = generateWebhookSecret(); // "whsec_..."
 * const { signing, verifying } = generateWebhookSecret("ed25519");
 * ```
 */
export function generateWebhookSecret(): string;
export function generateWebhookSecret(kind: "ed25519"): { readonly signing: string; readonly verifying: string };
export function generateWebhookSecret(kind?: "ed25519"): string | { signing: string; verifying: string } {
  if (kind === undefined) return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64")}`;
  const seed = Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return { signing: `whsk_${seed.toString("base64")}`, verifying: `whpk_${spki.subarray(-32).toString("base64")}` };
}

/** The `webhook-signature` header: one `scheme,signature` per signing key, space separated. */
export function signatureHeader(keys: readonly WebhookKey[], id: string, timestamp: number, body: string): string {
  const content = Buffer.from(`${id}.${timestamp}.${body}`);
  return keys
    .map((key) =>
      key.scheme === "v1"
        ? `v1,${createHmac("sha256", key.key).update(content).digest("base64")}`
        : `v1a,${sign(null, content, key.key).toString("base64")}`,
    )
    .join(" ");
}

/** True when one of `signatures` (the header's entries) was made with `key` over `content`. */
export function signatureMatches(key: WebhookKey, signatures: readonly string[], content: Buffer): boolean {
  if (key.scheme === "v1") {
    const expected = createHmac("sha256", key.key).update(content).digest();
    return signatures.some((entry) => {
      if (!entry.startsWith("v1,")) return false;
      const given = Buffer.from(entry.slice(3), "base64");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  }
  const publicKey = key.canSign ? createPublicKey(key.key) : key.key;
  return signatures.some(
    (entry) => entry.startsWith("v1a,") && verify(null, content, publicKey, Buffer.from(entry.slice(4), "base64")),
  );
}
