import type { Event } from "../event/event.js";
import type { WebhookStore } from "../storage/types.js";
import type { DeliveryLimiter } from "./delivery-limiter.js";
import { formatterOf } from "./webhook-formats.js";
import { systemLookup } from "./webhook-network.js";
import type { WebhookSettings } from "./webhook-options.js";
import { sendWebhookAttempt, type WebhookAgents } from "./webhook-request.js";
import { readWebhookKey, signatureHeader } from "./webhook-secrets.js";
import type { WebhookSubscription } from "./webhook-subscription.js";

/**
 * One entry of a subscription's delivery log: an attempt (scheduled or a redelivery), or the subscription being
 * disabled automatically (`kind: "disabled"`, `event_id: null`).
 *
 * @example
 * ```ts
 * for (const entry of await dispatcher.deliveries(id, { ok: false })) console.log(entry.event_id, entry.status, entry.error);
 * ```
 */
export interface WebhookDelivery {
  readonly subscription_id: string;
  readonly event_id: string | null;
  readonly kind: "attempt" | "redelivery" | "disabled";
  /** 1 for the first try of this event, 2 for the first retry, ... (redeliveries count from 1). */
  readonly attempt: number;
  readonly ok: boolean;
  /** The HTTP status, `null` when no answer came (refused target, timeout, connection error). */
  readonly status: number | null;
  readonly duration_ms: number;
  readonly error: string | null;
  /** The first `maxResponseBytes` of the answer. */
  readonly response: string;
  /** When the attempt ended, ISO-8601 UTC. */
  readonly at: string;
}

/** What delivering needs beside the subscription: shared by every subscription of one dispatcher. */
export interface DeliveryContext {
  readonly settings: WebhookSettings;
  readonly store: WebhookStore;
  readonly agents: WebhookAgents;
  readonly limiter: DeliveryLimiter;
}

/**
 * Sends one attempt of one event to one subscription, signed with that subscription's secrets only, and logs it.
 * A failure to write the log is reported, not thrown: the attempt happened either way.
 */
export async function deliverOnce(
  context: DeliveryContext,
  subscription: WebhookSubscription,
  event: Event,
  attempt: number,
  kind: "attempt" | "redelivery",
  signal: AbortSignal,
): Promise<WebhookDelivery> {
  const { settings, agents, limiter } = context;
  const { body, contentType } = formatterOf(subscription.format)(event);
  const keys = subscription.secrets.map((secret, index) => readWebhookKey(secret, ["secrets", index]));
  const result = await limiter.run(() => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "content-type": contentType,
      "user-agent": "ad-seller-events-webhooks",
      "webhook-id": event.event_id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signatureHeader(keys, event.event_id, timestamp, body),
    };
    return sendWebhookAttempt(
      {
        url: new URL(subscription.url),
        headers,
        body,
        timeoutMs: settings.timeoutMs,
        maxResponseBytes: settings.maxResponseBytes,
        allowPrivateNetworks: settings.allowPrivateNetworks,
        lookup: settings.lookup ?? systemLookup,
        signal,
      },
      agents,
    );
  });
  const entry: WebhookDelivery = Object.freeze({
    subscription_id: subscription.id,
    event_id: event.event_id,
    kind,
    attempt,
    ok: result.ok,
    status: result.status,
    duration_ms: result.durationMs,
    error: result.error,
    response: result.response,
    at: new Date().toISOString(),
  });
  await appendLogEntry(context, entry);
  return entry;
}

/** Writes a log entry, reporting (not throwing) a store failure. */
export async function appendLogEntry(context: DeliveryContext, entry: WebhookDelivery): Promise<void> {
  try {
    await context.store.appendDelivery(
      {
        subscription_id: entry.subscription_id,
        event_id: entry.event_id,
        ok: entry.ok,
        at: entry.at,
        json: JSON.stringify(entry),
      },
      context.settings.logLimit,
    );
  } catch (error) {
    context.settings.onError({ source: "webhook", error, subscription_id: entry.subscription_id });
  }
}
