import type { EventBus } from "../bus/event-bus.js";
import type { Consumer } from "../consumers/consumer.js";
import type { ConsumerHandlerContext } from "../consumers/consumer-options.js";
import type { Event } from "../event/event.js";
import { backoffDelay, pause } from "../live/backoff.js";
import { type DeliveryContext, deliverOnce } from "./webhook-delivery.js";
import { recordOutcome } from "./webhook-health.js";
import type { WebhookSubscription } from "./webhook-subscription.js";

/**
 * Delivers one subscription's events: a durable consumer of its own (so one deliverer per subscription across a
 * fleet, in order, at least once), each event tried on the retry schedule before the next one is sent.
 */
export class SubscriptionDeliverer {
  private readonly consumer: Consumer;
  private readonly halt = new AbortController();
  /** Events of the current batch already delivered: a batch retried after a later event failed skips them. */
  private readonly delivered = new Set<string>();
  /** Events whose whole schedule failed: the consumer's one-by-one pass dead-letters them at once. */
  private readonly exhausted = new Map<string, string>();

  constructor(
    bus: EventBus,
    private subscription: WebhookSubscription,
    private readonly context: DeliveryContext,
  ) {
    const { settings } = context;
    const { event_types, filter, start_after } = subscription;
    this.consumer = bus.consume(subscription.consumer, (events, handler) => this.handle(events, handler), {
      query: { ...filter, event_type: event_types },
      from: start_after ?? "start",
      batchSize: settings.batchSize,
      leaseMs: settings.leaseMs,
      retry: { attempts: 1 },
      onFailure: "skip",
      // What the consumer records (an event's schedule exhausted, a store failure) is the subscription's trouble;
      // the errors of stopping on purpose are not.
      onError: (error) => {
        if (!this.halt.signal.aborted)
          settings.onError({ source: "webhook", error, subscription_id: this.subscription.id });
      },
    });
  }

  /** The subscription as last read, so that new secrets or a new URL apply from the next attempt. */
  get current(): WebhookSubscription {
    return this.subscription;
  }

  set current(subscription: WebhookSubscription) {
    this.subscription = subscription;
  }

  /**
   * True once it no longer delivers: stopped (by `stop()`, a disable, or the bus closing) or its consumer failed
   * (a store that kept refusing the checkpoint). The dispatcher then starts a new one at its next refresh.
   */
  get stopped(): boolean {
    const { state } = this.consumer.status();
    return this.halt.signal.aborted || state === "stopped" || state === "failed";
  }

  /** The consumer's status: `active` in the one process of the fleet that delivers this subscription. */
  status() {
    return this.consumer.status();
  }

  /** Stops at once (a retry wait or a request in flight is abandoned; its event is sent again later). */
  async stop(): Promise<void> {
    const stopped = this.consumer.stop(); // first, so the consumer does not dead-letter the abandoned batch
    this.halt.abort();
    await stopped;
  }

  private async handle(events: readonly Event[], { signal }: ConsumerHandlerContext): Promise<void> {
    const either = AbortSignal.any([signal, this.halt.signal]);
    for (const event of events) {
      if (this.delivered.has(event.event_id)) continue;
      const failure = this.exhausted.get(event.event_id);
      if (failure !== undefined) {
        this.exhausted.delete(event.event_id); // the consumer dead-letters it now
        throw new Error(failure);
      }
      await this.deliver(event, either);
      this.delivered.add(event.event_id);
    }
    // Handled: the checkpoint moves past these, so they need no memory; other entries wait for their own pass.
    for (const event of events) this.delivered.delete(event.event_id);
  }

  /** Every scheduled attempt of one event; throws once they all failed, or when stopped or disabled. */
  private async deliver(event: Event, signal: AbortSignal): Promise<void> {
    const { settings } = this.context;
    for (let attempt = 1; attempt <= settings.attempts; attempt++) {
      if (signal.aborted) throw new Error("the deliverer stopped");
      const entry = await deliverOnce(this.context, this.subscription, event, attempt, "attempt", signal);
      if (signal.aborted) throw new Error("the deliverer stopped");
      this.subscription = await recordOutcome(this.context, this.subscription, entry).catch((error: unknown) => {
        // A store hiccup while counting failures must not cost the event its schedule: report it and go on.
        this.context.settings.onError({ source: "webhook", error, subscription_id: this.subscription.id });
        return this.subscription;
      });
      if (entry.ok) return;
      if (!this.subscription.enabled) {
        void this.stop();
        throw new Error("the subscription was disabled");
      }
      if (attempt < settings.attempts)
        await pause(backoffDelay(attempt - 1, settings.initialDelayMs, settings.maxDelayMs), signal);
    }
    const failure = `every attempt (${settings.attempts}) to deliver event ${event.event_id} failed`;
    // A one-event batch is dead-lettered without a second pass: bound what such entries can add up to.
    if (this.exhausted.size >= 1_000) this.exhausted.clear();
    this.exhausted.set(event.event_id, failure);
    throw new Error(failure);
  }
}
