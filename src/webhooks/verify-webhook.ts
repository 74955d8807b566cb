import { EventBusError, EventValidationError } from "../errors/error-classes.js";
import type { OptionKeys } from "../errors/option-keys.js";
import { showValue } from "../event/json-value.js";
import { readOptions } from "./webhook-options.js";
import { readWebhookKey, signatureMatches } from "./webhook-secrets.js";

/**
 * A delivery failed verification: a header is missing, the timestamp is outside the tolerance, or no signature
 * matches any of the secrets. Answer it with a 4xx and do not act on the body.
 *
 * @example
 * ```ts
 * try {
 *   await verifyWebhook(request, secret);
 * } catch (error) {
 *   if (WebhookVerificationError.is(error)) return new Response(null, { status: 401 });
 *   throw error;
 * }
 * ```
 */
export class WebhookVerificationError extends EventBusError {
  static override readonly code = "ERR_WEBHOOK_VERIFICATION";
  override name = "WebhookVerificationError";
}

/**
 * What `verifyWebhook` returns for a genuine delivery.
 *
 * @example
 * ```ts
 * const { id, payload } = await verifyWebhook(request, secret);
 * if (!(await seen(id))) await handle(payload);
 * ```
 */
export interface VerifiedWebhook {
  /** `webhook-id`: the event id, the same on every retry of one delivery (dedupe on it). */
  readonly id: string;
  /** `webhook-timestamp`, seconds since 1970. */
  readonly timestamp: number;
  /** The raw body, as signed. */
  readonly body: string;
  /** The body parsed as JSON. */
  readonly payload: unknown;
}

/**
 * Options of `verifyWebhook`.
 *
 * @example
 * ```ts
 * await verifyWebhook(request, secret, { toleranceSeconds: 60 });
 * ```
 */
export interface VerifyWebhookOptions {
  /** Largest distance between `webhook-timestamp` and now, in seconds, against replays. Default 300. */
  readonly toleranceSeconds?: number | undefined;
  /** The clock, in milliseconds since 1970 (tests). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/** A fetch `Request`, or headers (a `Headers`, or a Node/Express header record) with the raw body. */
export type WebhookRequest =
  | Request
  | {
      readonly headers: Headers | { readonly [name: string]: string | readonly string[] | undefined };
      readonly body: string | Uint8Array;
    };

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const VERIFY_OPTION_KEYS: OptionKeys<VerifyWebhookOptions> = { toleranceSeconds: true, now: true };

/**
 * Checks a delivery as a receiver: the Standard Webhooks headers, the timestamp tolerance and a `v1` (HMAC) or
 * `v1a` (Ed25519) signature made with one of `secrets`. Resolves to the delivery; rejects with
 * `WebhookVerificationError`. Give it the raw body, before any JSON parsing.
 *
 * @example
 * ```ts
 * // in a fetch runtime (Hono, Bun, Deno, Workers)
 * const delivery = await verifyWebhook(request, process.env.WEBHOOK_SECRET ?? "");
 * console.log(delivery.id, delivery.payload);
 * ```
 */
export async function verifyWebhook(
  request: WebhookRequest,
  secrets: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<VerifiedWebhook> {
  const keys = (typeof secrets === "string" ? [secrets] : secrets).map((secret, index) =>
    readWebhookKey(secret, typeof secrets === "string" ? "secret" : ["secrets", index]),
  );
  if (keys.length === 0) throw new WebhookVerificationError("secrets: give at least one secret");
  const { toleranceSeconds: tolerance = 300, now: clock = Date.now } = readOptions<VerifyWebhookOptions>(
    options,
    VERIFY_OPTION_KEYS,
    "verifyWebhook",
  );
  if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 86_400)
    throw EventValidationError.forField(
      "toleranceSeconds",
      `must be an integer from 0 to 86400, got ${showValue(tolerance)}`,
    );
  if (typeof clock !== "function")
    throw EventValidationError.forField("now", "must be a function returning milliseconds");
  const read = (name: string) => headerOf(request.headers, name);
  const id = read("webhook-id");
  const stamp = read("webhook-timestamp");
  const signature = read("webhook-signature");
  if (id === undefined || stamp === undefined || signature === undefined)
    throw new WebhookVerificationError("headers: webhook-id, webhook-timestamp and webhook-signature are required");
  const timestamp = Number(stamp);
  const now = Math.floor(clock() / 1000);
  if (!/^\d{1,12}$/.test(stamp) || Math.abs(now - timestamp) > tolerance)
    throw new WebhookVerificationError(`webhook-timestamp: ${stamp.slice(0, 20)} is not within ${tolerance} s of now`);
  const body = await bodyText(request);
  const content = Buffer.from(`${id}.${timestamp}.${body}`);
  const entries = signature.split(" ").slice(0, 20);
  if (!keys.some((key) => signatureMatches(key, entries, content)))
    throw new WebhookVerificationError("webhook-signature: no signature matches the given secret(s)");
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch (error) {
    throw new WebhookVerificationError("body: the signed body is not JSON", { cause: error });
  }
  return Object.freeze({ id, timestamp, body, payload });
}

function headerOf(headers: WebhookRequest["headers"], name: string): string | undefined {
  const value =
    typeof (headers as Headers).get === "function"
      ? (headers as Headers).get(name)
      : (headers as Record<string, unknown>)[name];
  const text = Array.isArray(value) ? value[0] : value;
  return typeof text === "string" && text.length > 0 && text.length <= 10_000 ? text : undefined;
}

async function bodyText(request: WebhookRequest): Promise<string> {
  const raw = request instanceof Request ? new Uint8Array(await request.arrayBuffer()) : request.body;
  if (typeof raw === "string") return raw;
  if (!(raw instanceof Uint8Array))
    throw new WebhookVerificationError("body: must be the raw body (a string or bytes), not parsed JSON");
  if (raw.byteLength > MAX_BODY_BYTES) throw new WebhookVerificationError("body: larger than 16 MiB");
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8");
}
