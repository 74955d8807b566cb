import type { EventBus } from "../bus/event-bus.js";
import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import type { OptionKeys } from "../errors/option-keys.js";
import type { Event } from "../event/event.js";
import { showValue } from "../event/json-value.js";
import { isUuid } from "../event/query.js";
import { normalizeTimestamp } from "../event/timestamp.js";
import type { WebhookStore } from "../storage/types.js";
import { type DeliveryContext, deliverOnce, type WebhookDelivery } from "./webhook-delivery.js";
import { readBoundedInteger, readOptions } from "./webhook-options.js";
import type { WebhookSubscription } from "./webhook-subscription.js";

/**
 * Which log entries `dispatcher.deliveries()` returns (newest first).
 *
 * @example
 * ```ts
 * const query: WebhookDeliveryQuery = { ok: false, since: "2026-12-01T00:00:00Z", limit: 50 };
 * ```
 */
export interface WebhookDeliveryQuery {
  /** Only the attempts of this event. */
  readonly event_id?: string | undefined;
  /** Only successes (`true`) or failures (`false`). */
  readonly ok?: boolean | undefined;
  /** At or after this time. */
  readonly since?: string | Date | undefined;
  /** Before this time. */
  readonly until?: string | Date | undefined;
  /** 1..1000, default 100. */
  readonly limit?: number | undefined;
}

/**
 * What `dispatcher.redeliver()` sends again: one event (`event_id`), every event whose schedule failed and that
 * was not delivered since (`failed: true`), or the subscription's events stored in `[since, until)` (the newest
 * `limit` of them, oldest first: narrow the range for more); at most `limit` events (1..1000, default 100).
 *
 * @example
 * ```ts
 * await dispatcher.redeliver(id, { since: "2026-12-01T08:00:00Z", until: "2026-12-01T09:00:00Z" });
 * ```
 */
export interface WebhookRedelivery {
  readonly event_id?: string | undefined;
  readonly failed?: true | undefined;
  readonly since?: string | Date | undefined;
  readonly until?: string | Date | undefined;
  readonly limit?: number | undefined;
}

/**
 * What a redelivery did: the ids sent and delivered, and those whose attempt failed.
 *
 * @example
 * ```ts
 * const { delivered, failed } = await dispatcher.redeliver(id, { failed: true });
 * ```
 */
export interface WebhookRedeliveryResult {
  readonly delivered: readonly string[];
  readonly failed: readonly string[];
}

const QUERY_KEYS: OptionKeys<WebhookDeliveryQuery> = {
  event_id: true,
  ok: true,
  since: true,
  until: true,
  limit: true,
};
const REDELIVERY_KEYS: OptionKeys<WebhookRedelivery> = {
  event_id: true,
  failed: true,
  since: true,
  until: true,
  limit: true,
};

/** Reads a subscription's log, newest first. */
export async function listDeliveries(
  store: WebhookStore,
  subscriptionId: string,
  query: WebhookDeliveryQuery,
): Promise<WebhookDelivery[]> {
  query = readOptions<WebhookDeliveryQuery>(query, QUERY_KEYS, "deliveries");
  const issues: ValidationIssue[] = [];
  const { since, until } = readWindow(query, issues);
  const limit = readBoundedInteger(query.limit, "limit", 100, [1, 1_000], issues);
  if (query.ok !== undefined && typeof query.ok !== "boolean")
    issues.push({ path: ["ok"], message: `must be true or false, got ${showValue(query.ok)}` });
  if (query.event_id !== undefined && !isUuid(query.event_id))
    issues.push({ path: ["event_id"], message: `must be an event_id (a UUID), got ${showValue(query.event_id)}` });
  if (issues.length > 0) throw new EventValidationError(issues);
  const records = await store.listDeliveries({
    subscription_id: subscriptionId,
    event_id: query.event_id?.toLowerCase(),
    ok: query.ok,
    since,
    until,
    limit,
  });
  return records.map((record) => JSON.parse(record.json) as WebhookDelivery);
}

/** Sends the selected events once each, in order, from this process. */
export async function redeliver(
  bus: EventBus,
  context: DeliveryContext,
  subscription: WebhookSubscription,
  selection: WebhookRedelivery,
  signal: AbortSignal,
): Promise<WebhookRedeliveryResult> {
  const events = await selectEvents(bus, context.store, subscription, selection);
  const delivered: string[] = [];
  const failed: string[] = [];
  for (const event of events) {
    const entry = await deliverOnce(context, subscription, event, 1, "redelivery", signal);
    (entry.ok ? delivered : failed).push(event.event_id);
  }
  return Object.freeze({ delivered, failed });
}

async function selectEvents(
  bus: EventBus,
  store: WebhookStore,
  subscription: WebhookSubscription,
  selection: WebhookRedelivery,
): Promise<Event[]> {
  selection = readOptions<WebhookRedelivery>(selection, REDELIVERY_KEYS, "redeliver");
  const issues: ValidationIssue[] = [];
  const limit = readBoundedInteger(selection.limit, "limit", 100, [1, 1_000], issues);
  const { since, until } = readWindow(selection, issues);
  const kinds = [selection.event_id !== undefined, selection.failed !== undefined, since !== undefined];
  if (kinds.filter(Boolean).length !== 1)
    issues.push({ path: ["event_id"], message: "give exactly one of event_id, failed: true, or since (with until)" });
  if (selection.failed !== undefined && selection.failed !== true)
    issues.push({ path: ["failed"], message: `must be true, got ${showValue(selection.failed)}` });
  if (selection.event_id !== undefined && !isUuid(selection.event_id))
    issues.push({ path: ["event_id"], message: `must be an event_id (a UUID), got ${showValue(selection.event_id)}` });
  if (issues.length > 0) throw new EventValidationError(issues);
  const query = { ...subscription.filter, event_type: subscription.event_types };
  if (since !== undefined) return bus.listEvents({ ...query, since, until, limit });
  const ids = selection.failed ? await failedIds(bus, store, subscription, limit) : [selection.event_id as string];
  const events: Event[] = [];
  for (const id of ids) {
    const event = await bus.getEvent(id);
    if (event !== null) events.push(event);
    else if (selection.event_id !== undefined)
      throw EventValidationError.forField("event_id", `no stored event has event_id ${id}`);
  }
  return events;
}

/** The subscription's dead letters that no delivery succeeded for since they were given up on. */
async function failedIds(bus: EventBus, store: WebhookStore, subscription: WebhookSubscription, limit: number) {
  const letters = (await bus.storage.checkpoints?.deadLetters(subscription.consumer)) ?? [];
  const ids: string[] = [];
  for (const letter of letters) {
    if (ids.length >= limit) break;
    const since = letter.failed_at;
    const later = await store.listDeliveries({
      subscription_id: subscription.id,
      event_id: letter.event_id,
      ok: true,
      since,
      limit: 1,
    });
    if (later.length === 0 && !ids.includes(letter.event_id)) ids.push(letter.event_id);
  }
  return ids;
}

function readWindow(
  input: { readonly since?: unknown; readonly until?: unknown },
  issues: ValidationIssue[],
): { since: string | undefined; until: string | undefined } {
  const read = (name: "since" | "until") => {
    const value = input[name];
    if (value === undefined) return undefined;
    const timestamp = normalizeTimestamp(value);
    if (timestamp === null)
      issues.push({ path: [name], message: `must be an ISO-8601 timestamp, got ${showValue(value)}` });
    return timestamp ?? undefined;
  };
  return { since: read("since"), until: read("until") };
}
