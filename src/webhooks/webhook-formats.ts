import { toCloudEvent } from "../event/envelopes/cloud-event.js";
import { toIabEvent } from "../event/envelopes/iab-event.js";
import type { Event } from "../event/event.js";
import type { WebhookFormat } from "./webhook-subscription.js";

/** Turns an event into a delivery body. */
export type WebhookFormatter = (event: Event) => { readonly body: string; readonly contentType: string };

/**
 * The CloudEvents `source` of webhook deliveries. A subscription names a receiver, not a producer, so the library
 * names itself; a receiver tells sellers apart by the endpoint it gave each one.
 */
export const WEBHOOK_CLOUDEVENTS_SOURCE = "/ad-seller-events";

const FORMATTERS: Record<WebhookFormat, WebhookFormatter> = {
  seller: (event) => ({ body: JSON.stringify(event), contentType: "application/json" }),
  // Structured mode: the whole CloudEvent in the body, so the signature covers its attributes too.
  cloudevents: (event) => ({
    body: JSON.stringify(toCloudEvent(event, { source: WEBHOOK_CLOUDEVENTS_SOURCE })),
    contentType: "application/cloudevents+json; charset=utf-8",
  }),
  iab: (event) => ({ body: JSON.stringify(toIabEvent(event)), contentType: "application/json" }),
};

/** The formatter of a format. */
export function formatterOf(format: WebhookFormat): WebhookFormatter {
  return FORMATTERS[format];
}
