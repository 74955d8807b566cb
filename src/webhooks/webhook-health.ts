import { EventBusError } from "../errors/error-classes.js";
import { appendLogEntry, type DeliveryContext, type WebhookDelivery } from "./webhook-delivery.js";
import type { WebhookSubscription } from "./webhook-subscription.js";

/**
 * Keeps a subscription's failure streak in the store (so it survives restarts and takeovers) and disables the
 * subscription once the streak reaches `autoDisable`; true when it did. The happy path writes nothing: only the
 * first success after failures resets the streak. Resolves to the subscription as now stored.
 */
export async function recordOutcome(
  context: DeliveryContext,
  subscription: WebhookSubscription,
  entry: WebhookDelivery,
): Promise<WebhookSubscription> {
  if (entry.ok && subscription.failure_streak === 0) return subscription;
  const { store, settings } = context;
  // Read again: an update() from code may have changed the record since this deliverer read it.
  const text = await store.readSubscription(subscription.id);
  if (text === null) return { ...subscription, enabled: false };
  const stored = JSON.parse(text) as WebhookSubscription;
  const now = entry.at;
  if (entry.ok) {
    const healed = { ...stored, failure_streak: 0, first_failure_at: null };
    await store.saveSubscription(stored.id, JSON.stringify(healed));
    return healed;
  }
  const streak = stored.failure_streak + 1;
  const firstAt = stored.first_failure_at ?? now;
  const rule = settings.autoDisable;
  const disable = rule !== false && streak >= rule.failures && Date.parse(now) - Date.parse(firstAt) >= rule.windowMs;
  const reason = disable
    ? `disabled automatically after ${streak} failed attempts in a row since ${firstAt}; last: ${entry.error}`
    : null;
  const counted = { ...stored, failure_streak: streak, first_failure_at: firstAt, updated_at: now };
  const next = disable ? { ...counted, enabled: false, disabled_reason: reason } : counted;
  await store.saveSubscription(stored.id, JSON.stringify(next));
  if (!disable) return next;
  await appendLogEntry(context, {
    ...entry,
    event_id: null,
    kind: "disabled",
    attempt: 0,
    error: reason,
    response: "",
  });
  settings.onError({ source: "webhook", error: new EventBusError(reason as string), subscription_id: stored.id });
  return next;
}
