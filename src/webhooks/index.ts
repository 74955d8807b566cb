/**
 * Signed, durable, at-least-once webhook delivery.
 *
 * @module ad-seller-events/webhooks
 */
export {
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookRequest,
  WebhookVerificationError,
} from "./verify-webhook.js";
export type { WebhookDelivery } from "./webhook-delivery.js";
export {
  createWebhookDispatcher,
  WebhookDispatcher,
  type WebhookSubscriptionStatus,
} from "./webhook-dispatcher.js";
export type { WebhookLookup } from "./webhook-network.js";
export type {
  WebhookAutoDisableOptions,
  WebhookDispatcherOptions,
  WebhookErrorReport,
  WebhookRetryOptions,
} from "./webhook-options.js";
export type { WebhookDeliveryQuery, WebhookRedelivery, WebhookRedeliveryResult } from "./webhook-redelivery.js";
export { generateWebhookSecret } from "./webhook-secrets.js";
export type {
  WebhookFieldFilter,
  WebhookFormat,
  WebhookSubscription,
  WebhookSubscriptionInput,
  WebhookSubscriptionPatch,
} from "./webhook-subscription.js";
