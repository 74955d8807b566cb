import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import type { OptionKeys } from "../errors/option-keys.js";
import { CORRELATION_FIELDS } from "../event/event.js";
import type { EventTypePattern } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";
import { normalizeEventQuery } from "../event/query.js";
import { type ReadFrom, readFromOption } from "../event/read-from.js";
import { readOptions } from "./webhook-options.js";
import { readWebhookKey } from "./webhook-secrets.js";

/** The body a subscription receives: `"seller"` (the event's wire JSON), `"cloudevents"` or `"iab"`. */
export type WebhookFormat = "seller" | "cloudevents" | "iab";

/** The correlation ids a subscription can filter on; every given one must equal the event's. */
export type WebhookFieldFilter = {
  readonly [Field in (typeof CORRELATION_FIELDS)[number]]?: string | undefined;
};

/**
 * What `dispatcher.add()` takes. Only `url` and `secrets` are required.
 *
 * @example
 * ```ts
 * const input: WebhookSubscriptionInput = {
 *   url: "https://buyer.example/hooks/seller",
 *   secrets: generateWebhookSecret(),
 *   event_types: ["deal.*", "proposal.accepted"],
 *   filter: { deal_id: "d-1" },
 * };
 * ```
 */
export interface WebhookSubscriptionInput {
  /** Letters, digits and `._:-`, 1..100 characters. Default: a random UUID. */
  readonly id?: string | undefined;
  /** `http:` or `https:` URL the events are POSTed to. */
  readonly url: string;
  /** Event types and patterns (`"deal.*"`, `"*"`). Default: every event. */
  readonly event_types?: EventTypePattern | readonly EventTypePattern[] | undefined;
  /** Correlation ids every delivered event must carry. */
  readonly filter?: WebhookFieldFilter | undefined;
  /** Body format. Default `"seller"`. */
  readonly format?: WebhookFormat | undefined;
  /** One to five `whsec_` (HMAC, `v1`) or `whsk_` (Ed25519, `v1a`) secrets; each signs every delivery. */
  readonly secrets: string | readonly string[];
  /** Default true. */
  readonly enabled?: boolean | undefined;
  /** Where delivery starts: `"end"` (default: events stored after `add()`), `"start"`, or after an event id. */
  readonly from?: ReadFrom | undefined;
  /** Free text for people, up to 500 characters. */
  readonly description?: string | undefined;
}

/** What `dispatcher.update()` changes: any field of the input but `id` and `from`. */
export type WebhookSubscriptionPatch = Partial<Omit<WebhookSubscriptionInput, "id" | "from">>;

/**
 * A stored subscription, as `dispatcher.list()` and `get()` return it.
 *
 * @example
 * ```ts
 * const subscription: WebhookSubscription = await dispatcher.add({ url, secrets: generateWebhookSecret() });
 * console.log(subscription.id, subscription.enabled);
 * ```
 */
export interface WebhookSubscription {
  readonly id: string;
  readonly url: string;
  readonly event_types: readonly EventTypePattern[];
  readonly filter: WebhookFieldFilter;
  readonly format: WebhookFormat;
  readonly secrets: readonly string[];
  readonly enabled: boolean;
  /** Why it was disabled (by `disable()` or automatically), `null` while enabled. */
  readonly disabled_reason: string | null;
  readonly description: string;
  /** The event after which delivery started (`null`: from the first stored event). */
  readonly start_after: string | null;
  /** The durable consumer that delivers it (its checkpoint, lease and dead letters); new for each `add()`. */
  readonly consumer: string;
  /** Failed attempts in a row, and when the first of them happened (for auto-disable). */
  readonly failure_streak: number;
  readonly first_failure_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

const INPUT_KEYS: OptionKeys<WebhookSubscriptionInput> = {
  id: true,
  url: true,
  event_types: true,
  filter: true,
  format: true,
  secrets: true,
  enabled: true,
  from: true,
  description: true,
};
const FORMATS: readonly WebhookFormat[] = ["seller", "cloudevents", "iab"];
const ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Validates `add()` input; `from` is returned apart, since the stored record keeps the resolved position. */
export function readSubscriptionInput(input: unknown): {
  readonly fields: Omit<
    WebhookSubscription,
    "start_after" | "consumer" | "failure_streak" | "first_failure_at" | "created_at" | "updated_at" | "disabled_reason"
  >;
  readonly from: string;
} {
  const value = readOptions<WebhookSubscriptionInput>(input, INPUT_KEYS, "add");
  const issues: ValidationIssue[] = [];
  if (value.id !== undefined && (typeof value.id !== "string" || !ID.test(value.id)))
    issues.push({ path: ["id"], message: `must be 1 to 100 letters, digits or ._:-, got ${showValue(value.id)}` });
  const from = readFromOption(value.from, "end", issues);
  const fields = readFields({ enabled: true, format: "seller", description: "", ...value }, issues);
  if (issues.length > 0) throw new EventValidationError(issues);
  return { fields: { id: value.id ?? crypto.randomUUID(), ...fields }, from };
}

/** Validates `update()`'s patch against the stored subscription and returns the new record. */
export function applySubscriptionPatch(current: WebhookSubscription, patch: unknown, now: string): WebhookSubscription {
  const { id: _id, from: _from, ...patchKeys } = INPUT_KEYS;
  const issues: ValidationIssue[] = [];
  const merged = { ...current, ...readOptions<WebhookSubscriptionPatch>(patch, patchKeys, "update") };
  const fields = readFields(merged, issues);
  if (issues.length > 0) throw new EventValidationError(issues);
  const reenabled = fields.enabled && !current.enabled;
  return Object.freeze({
    ...current,
    ...fields,
    disabled_reason: fields.enabled ? null : (current.disabled_reason ?? "disabled by update()"),
    ...(reenabled ? { failure_streak: 0, first_failure_at: null } : {}),
    updated_at: now,
  });
}

type CheckedFields = Pick<
  WebhookSubscription,
  "url" | "event_types" | "filter" | "format" | "secrets" | "enabled" | "description"
>;

function readFields(value: Partial<Record<keyof CheckedFields, unknown>>, issues: ValidationIssue[]): CheckedFields {
  const url = readUrl(value.url, issues);
  const eventTypes = value.event_types === undefined ? ["*"] : [value.event_types].flat();
  const filter = (value.filter ?? {}) as WebhookFieldFilter;
  readQuery(eventTypes, filter, issues);
  if (!FORMATS.includes(value.format as WebhookFormat))
    issues.push({ path: ["format"], message: `must be one of ${FORMATS.join(", ")}, got ${showValue(value.format)}` });
  const secrets = readSecrets(value.secrets, issues);
  if (typeof value.enabled !== "boolean")
    issues.push({ path: ["enabled"], message: `must be true or false, got ${showValue(value.enabled)}` });
  if (typeof value.description !== "string" || value.description.length > 500)
    issues.push({ path: ["description"], message: `must be a string of at most 500 characters` });
  return {
    url,
    event_types: Object.freeze(eventTypes as EventTypePattern[]),
    filter: Object.freeze({ ...filter }),
    format: value.format as WebhookFormat,
    secrets,
    enabled: value.enabled as boolean,
    description: value.description as string,
  };
}

function readUrl(value: unknown, issues: ValidationIssue[]): string {
  let url: URL | undefined;
  try {
    if (typeof value === "string" && value.length <= 2_048) url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    issues.push({
      path: ["url"],
      message: `must be an http: or https: URL of at most 2048 characters, got ${showValue(value)}`,
    });
    return "";
  }
  return url.href;
}

function readQuery(eventTypes: readonly unknown[], filter: unknown, issues: ValidationIssue[]): void {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    issues.push({ path: ["filter"], message: `must be an object of correlation ids, got ${showValue(filter)}` });
    return;
  }
  const unknownKey = Object.keys(filter).find((key) => !(CORRELATION_FIELDS as readonly string[]).includes(key));
  if (unknownKey !== undefined)
    issues.push({ path: ["filter", unknownKey], message: `is not a filter; use ${CORRELATION_FIELDS.join(", ")}` });
  try {
    normalizeEventQuery({ ...filter, event_type: eventTypes });
  } catch (error) {
    if (!(error instanceof EventValidationError)) throw error;
    for (const issue of error.issues) {
      const [head, ...rest] = issue.path;
      issues.push({ ...issue, path: head === "event_type" ? ["event_types", ...rest] : ["filter", ...issue.path] });
    }
  }
}

function readSecrets(value: unknown, issues: ValidationIssue[]): readonly string[] {
  const secrets = typeof value === "string" ? [value] : value;
  if (!Array.isArray(secrets) || secrets.length < 1 || secrets.length > 5) {
    issues.push({ path: ["secrets"], message: "must be a whsec_/whsk_ secret or a list of 1 to 5 of them" });
    return [];
  }
  secrets.forEach((secret, index) => {
    try {
      const key = readWebhookKey(secret, ["secrets", index]);
      if (key.scheme === "v1a" && !key.canSign)
        issues.push({
          path: ["secrets", index],
          message: "is a whpk_ public key, which cannot sign; give the whsk_ key",
        });
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      issues.push(...error.issues);
    }
  });
  return Object.freeze([...secrets] as string[]);
}
