import { reporterOf } from "../bus/bus-errors.js";
import type { EventBus } from "../bus/event-bus.js";
import type { ConsumerStatus } from "../consumers/consumer-status.js";
import { EventBusError, EventValidationError } from "../errors/error-classes.js";
import type { PayloadSchemas } from "../event/payload-schemas.js";
import { pause } from "../live/backoff.js";
import type { WebhookStore } from "../storage/types.js";
import { DeliveryLimiter } from "./delivery-limiter.js";
import { SubscriptionDeliverer } from "./subscription-deliverer.js";
import type { DeliveryContext, WebhookDelivery } from "./webhook-delivery.js";
import { readWebhookSettings, type WebhookDispatcherOptions } from "./webhook-options.js";
import {
  listDeliveries,
  redeliver,
  type WebhookDeliveryQuery,
  type WebhookRedelivery,
  type WebhookRedeliveryResult,
} from "./webhook-redelivery.js";
import { createWebhookAgents } from "./webhook-request.js";
import {
  applySubscriptionPatch,
  readSubscriptionInput,
  type WebhookSubscription,
  type WebhookSubscriptionInput,
  type WebhookSubscriptionPatch,
} from "./webhook-subscription.js";

/**
 * A subscription's delivery state in this process: `active` where this process is its deliverer, `standby` where
 * another process of the fleet is.
 *
 * @example
 * ```ts
 * for (const { id, state, lag } of dispatcher.status()) console.log(id, state, lag);
 * ```
 */
export interface WebhookSubscriptionStatus extends Omit<ConsumerStatus, "name"> {
  readonly id: string;
}

/**
 * Starts delivering the bus's events to the webhook subscriptions kept in its store, and manages them. Every
 * process of a fleet that shares the store may run one: each subscription is delivered by one of them at a time.
 *
 * @example
 * ```ts
 * const dispatcher = createWebhookDispatcher(bus, { timeoutMs: 5_000 });
 * const secret = generateWebhookSecret();
 * await dispatcher.add({ url: "https://buyer.example/hooks", secrets: secret, event_types: ["deal.*"] });
 * ```
 */
export function createWebhookDispatcher<Schemas extends PayloadSchemas>(
  bus: EventBus<Schemas>,
  options: WebhookDispatcherOptions = {},
): WebhookDispatcher {
  return new WebhookDispatcher(bus as unknown as EventBus, options);
}

/**
 * Delivers and manages webhook subscriptions; made by `createWebhookDispatcher`.
 *
 * @example
 * ```ts
 * const { id } = await dispatcher.add({ url, secrets: [newSecret, oldSecret] });
 * await dispatcher.update(id, { secrets: [newSecret] });
 * await dispatcher.close();
 * ```
 */
export class WebhookDispatcher {
  private readonly context: DeliveryContext;
  private readonly deliverers = new Map<string, SubscriptionDeliverer>();
  private readonly halt = new AbortController();
  private reconciling: Promise<void> = Promise.resolve();
  private readonly running: Promise<void>;

  /** @internal Use `createWebhookDispatcher`. */
  constructor(
    private readonly bus: EventBus,
    options: WebhookDispatcherOptions,
  ) {
    const settings = readWebhookSettings(options, reporterOf(bus));
    const store = bus.storage.webhooks;
    if (store === undefined)
      throw new EventBusError(
        `the ${bus.storage.name} storage has no webhooks capability; use memoryStorage, sqliteStorage, ` +
          "postgresStorage or redisStorage, or implement WebhookStore",
      );
    const agents = createWebhookAgents(settings.maxConcurrency);
    this.context = { settings, store, agents, limiter: new DeliveryLimiter(settings.maxConcurrency) };
    settings.signal?.addEventListener("abort", () => void this.close(), { once: true });
    this.running = this.refreshLoop();
  }

  private get store(): WebhookStore {
    return this.context.store;
  }

  /**
   * Stores a new subscription and starts delivering to it: by default the matching events stored from now on.
   *
   * @example
   * ```ts
   * const subscription = await dispatcher.add({ url: "https://buyer.example/hooks", secrets: generateWebhookSecret() });
   * ```
   */
  async add(input: WebhookSubscriptionInput): Promise<WebhookSubscription> {
    this.checkOpen();
    const { fields, from } = readSubscriptionInput(input);
    if ((await this.store.readSubscription(fields.id)) !== null)
      throw EventValidationError.forField("id", `a subscription with id ${fields.id} exists; use update()`);
    const now = new Date().toISOString();
    const subscription: WebhookSubscription = Object.freeze({
      ...fields,
      disabled_reason: fields.enabled ? null : "added disabled",
      start_after: await this.startAfter(fields, from),
      consumer: `webhook:${fields.id}:${crypto.randomUUID().slice(0, 8)}`,
      failure_streak: 0,
      first_failure_at: null,
      created_at: now,
      updated_at: now,
    });
    await this.store.saveSubscription(subscription.id, JSON.stringify(subscription));
    await this.refresh();
    return subscription;
  }

  /**
   * The stored subscription, or `null`.
   *
   * @example
   * ```ts
   * const subscription = await dispatcher.get("buyer-1");
   * if (subscription && !subscription.enabled) console.warn(subscription.disabled_reason);
   * ```
   */
  async get(id: string): Promise<WebhookSubscription | null> {
    const text = await this.store.readSubscription(String(id));
    return text === null ? null : (JSON.parse(text) as WebhookSubscription);
  }

  /**
   * Every stored subscription, ordered by id.
   *
   * @example
   * ```ts
   * const disabled = (await dispatcher.list()).filter((subscription) => !subscription.enabled);
   * ```
   */
  async list(): Promise<WebhookSubscription[]> {
    return (await this.store.listSubscriptions()).map(({ json }) => JSON.parse(json) as WebhookSubscription);
  }

  /**
   * Changes a subscription (url, types, filter, format, secrets, enabled, description). New secrets and a new URL
   * apply from the next attempt; enabling resets the failure streak.
   *
   * @example
   * ```ts
   * await dispatcher.update(id, { secrets: [newSecret, oldSecret] }); // both sign during the rotation
   * ```
   */
  async update(id: string, patch: WebhookSubscriptionPatch): Promise<WebhookSubscription> {
    this.checkOpen();
    const next = applySubscriptionPatch(await this.require(id), patch, new Date().toISOString());
    await this.store.saveSubscription(next.id, JSON.stringify(next));
    await this.refresh();
    return next;
  }

  /**
   * Stops delivering to a subscription; its events wait (the checkpoint stays) until `enable()`.
   *
   * @example
   * ```ts
   * await dispatcher.disable(id, "partner maintenance window");
   * ```
   */
  async disable(id: string, reason = "disabled by disable()"): Promise<WebhookSubscription> {
    const current = await this.require(id);
    const next = { ...applySubscriptionPatch(current, { enabled: false }, new Date().toISOString()) };
    return this.save({ ...next, disabled_reason: String(reason).slice(0, 500) });
  }

  /**
   * Delivers again, starting with the event it stopped at, and resets the failure streak.
   *
   * @example
   * ```ts
   * await dispatcher.enable(id);
   * ```
   */
  enable(id: string): Promise<WebhookSubscription> {
    return this.update(id, { enabled: true });
  }

  /**
   * Stops delivering and deletes the subscription and its log; true when it existed.
   *
   * @example
   * ```ts
   * await dispatcher.remove(id);
   * ```
   */
  async remove(id: string): Promise<boolean> {
    this.checkOpen();
    const removed = await this.store.deleteSubscription(String(id));
    await this.refresh();
    return removed;
  }

  /**
   * The delivery log of a subscription, newest first: each attempt with its status, duration and answer excerpt.
   *
   * @example
   * ```ts
   * const failures = await dispatcher.deliveries(id, { ok: false, limit: 20 });
   * ```
   */
  async deliveries(id: string, query: WebhookDeliveryQuery = {}): Promise<WebhookDelivery[]> {
    return listDeliveries(this.store, (await this.require(id)).id, query);
  }

  /**
   * Sends events again now, one attempt each, in order: one event, every event whose schedule failed (and that
   * was not delivered since), or the subscription's events of a time range. Logged as `kind: "redelivery"`.
   *
   * @example
   * ```ts
   * const { delivered, failed } = await dispatcher.redeliver(id, { failed: true });
   * ```
   */
  async redeliver(id: string, selection: WebhookRedelivery): Promise<WebhookRedeliveryResult> {
    this.checkOpen();
    return redeliver(this.bus, this.context, await this.require(id), selection, this.halt.signal);
  }

  /**
   * Each subscription this process knows of, with its delivery state here.
   *
   * @example
   * ```ts
   * const behind = dispatcher.status().filter((entry) => entry.lag > 1_000);
   * ```
   */
  status(): WebhookSubscriptionStatus[] {
    return [...this.deliverers].map(([id, deliverer]) => {
      const { name: _name, ...status } = deliverer.status();
      return { id, ...status };
    });
  }

  /**
   * Reads the subscriptions from the store now (it also does so every `refreshMs`) and starts or stops deliverers.
   *
   * @example
   * ```ts
   * await dispatcher.refresh(); // pick up a subscription another process just added
   * ```
   */
  refresh(): Promise<void> {
    const next = this.reconciling.then(() => this.reconcile());
    this.reconciling = next.catch(() => undefined);
    return next;
  }

  /**
   * Stops every deliverer of this process (a request in flight is abandoned; its event is sent again later).
   *
   * @example
   * ```ts
   * process.on("SIGTERM", () => void dispatcher.close());
   * ```
   */
  async close(): Promise<void> {
    this.halt.abort();
    await this.running;
    await this.reconciling;
    await Promise.all([...this.deliverers.values()].map((deliverer) => deliverer.stop()));
    this.deliverers.clear();
    this.context.agents.http.destroy();
    this.context.agents.https.destroy();
  }

  private async reconcile(): Promise<void> {
    if (this.halt.signal.aborted) return;
    if (!this.context.settings.deliver) return;
    const wanted = new Map((await this.list()).filter((s) => s.enabled).map((s) => [s.id, s]));
    for (const [id, deliverer] of this.deliverers) {
      const next = wanted.get(id);
      if (next !== undefined && !deliverer.stopped && sameStream(deliverer.current, next)) deliverer.current = next;
      else {
        this.deliverers.delete(id);
        await deliverer.stop();
      }
    }
    for (const [id, subscription] of wanted) {
      if (!this.deliverers.has(id) && !this.halt.signal.aborted)
        this.deliverers.set(id, new SubscriptionDeliverer(this.bus, subscription, this.context));
    }
  }

  private async refreshLoop(): Promise<void> {
    while (!this.halt.signal.aborted) {
      await this.refresh().catch((error: unknown) => {
        // The bus (or its store) was closed under the dispatcher: stop quietly instead of reporting every refresh.
        if (/\bclosed\b/.test(String(error)) && EventBusError.is(error)) this.halt.abort();
        else this.context.settings.onError({ source: "webhook", error, subscription_id: null });
      });
      await pause(this.context.settings.refreshMs, this.halt.signal);
    }
  }

  private async startAfter(fields: Pick<WebhookSubscription, "event_types" | "filter">, from: string) {
    if (from === "start") return null;
    if (from !== "end") {
      if ((await this.bus.getEvent(from)) === null)
        throw EventValidationError.forField("from", `no stored event has event_id ${from}`);
      return from.toLowerCase();
    }
    const [newest] = await this.bus.listEvents({ ...fields.filter, event_type: fields.event_types, limit: 1 });
    return newest?.event_id ?? null;
  }

  private async require(id: string): Promise<WebhookSubscription> {
    const subscription = await this.get(id);
    if (subscription === null)
      throw EventValidationError.forField("id", `no subscription has id ${String(id).slice(0, 100)}`);
    return subscription;
  }

  private async save(subscription: WebhookSubscription): Promise<WebhookSubscription> {
    this.checkOpen();
    await this.store.saveSubscription(subscription.id, JSON.stringify(subscription));
    await this.refresh();
    return subscription;
  }

  private checkOpen(): void {
    if (this.halt.signal.aborted)
      throw Object.assign(new EventBusError("the webhook dispatcher is closed"), { code: "ERR_CLOSED" });
  }
}

/** Same consumer and same query: the running deliverer can carry on with the new record. */
function sameStream(running: WebhookSubscription, next: WebhookSubscription): boolean {
  return (
    running.consumer === next.consumer &&
    JSON.stringify([running.event_types, running.filter]) === JSON.stringify([next.event_types, next.filter])
  );
}
