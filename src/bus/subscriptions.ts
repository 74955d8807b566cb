import { EventValidationError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { describeBadPattern, EVENT_TYPES, type EventTypePattern, typesMatching } from "../event/event-type.js";

/**
 * Called with each stored event that matches the subscription (on a bus with `payloads`, typed by the pattern). A
 * throw or a rejected promise is reported to the bus's `onListenerError`, else its `onError` (`source: "listener"`),
 * and never reaches the emitter.
 *
 * @example
 * ```ts
 * const listener: EventListener = async (event) => await notifyTrader(event);
 * ```
 */
export type EventListener<Item = Event> = (event: Item) => void | Promise<void>;

/**
 * Options of `subscribe`.
 *
 * @example
 * ```ts
 * bus.subscribe("deal.*", onDeal, { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface SubscribeOptions {
  /** Unsubscribes when aborted. */
  readonly signal?: AbortSignal | undefined;
}

interface Subscription {
  readonly accepts: (event: Event) => boolean;
  readonly listener: EventListener;
}

/** Listener registry of one bus: pattern matching, ordered delivery, error isolation. */
export class SubscriptionRegistry {
  // Replaced, never mutated, so that (un)subscribing during delivery does not disturb the delivery in progress.
  private subscriptions: readonly Subscription[] = [];

  constructor(private readonly reportError: (error: unknown, event: Event) => void) {}

  add(pattern: EventTypePattern, listener: EventListener, options: SubscribeOptions = {}): () => void {
    const accepts = compilePattern(pattern);
    if (typeof listener !== "function") {
      throw EventValidationError.forField("listener", `must be a function, got ${typeof listener}`);
    }
    const { signal } = options;
    if (signal?.aborted) return () => {};
    const subscription: Subscription = { accepts, listener };
    this.subscriptions = [...this.subscriptions, subscription];
    const unsubscribe = () => {
      this.subscriptions = this.subscriptions.filter((candidate) => candidate !== subscription);
      signal?.removeEventListener("abort", unsubscribe);
    };
    signal?.addEventListener("abort", unsubscribe, { once: true });
    return unsubscribe;
  }

  deliver(event: Event): void {
    for (const { accepts, listener } of this.subscriptions) {
      if (!accepts(event)) continue;
      try {
        const result = listener(event);
        if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.reportError(error, event));
      } catch (error) {
        this.reportError(error, event);
      }
    }
  }

  clear(): void {
    this.subscriptions = [];
  }
}

function compilePattern(pattern: unknown): (event: Event) => boolean {
  const types = typesMatching(pattern);
  if (types === undefined) throw EventValidationError.forField("pattern", describeBadPattern(pattern));
  if (types.length === EVENT_TYPES.length) return () => true;
  if (types.length === 1) {
    const [only] = types;
    return (event) => event.event_type === only;
  }
  const accepted: ReadonlySet<string> = new Set(types);
  return (event) => accepted.has(event.event_type);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}
