import type { Event } from "../event/event.js";
import type { WebhookFormat } from "./webhook-subscription.js";

/** Turns an event into a delivery body: the seam where the CloudEvents and IAB bodies plug in. */
export type WebhookFormatter = (event: Event) => { readonly body: string; readonly contentType: string };

// "cloudevents" and "iab" join here once ad-seller-events/interop's toCloudEvent / toIabEvent land; until then
// add() and update() refuse them by name instead of sending a body the receiver did not ask for.
const FORMATTERS: Partial<Record<WebhookFormat, WebhookFormatter>> = {
  seller: (event) => ({ body: JSON.stringify(event), contentType: "application/json" }),
};

/** The formatter of a format, or `undefined` when this version cannot produce it. */
export function formatterOf(format: WebhookFormat): WebhookFormatter | undefined {
  return FORMATTERS[format];
}
