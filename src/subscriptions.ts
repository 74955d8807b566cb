import { EventValidationError } from "./errors.js";
import type { Event } from "./event.js";
import { EVENT_TYPES, type EventTypePattern, isEventType } from "./event-type.js";

/**
 * Called with each stored event that matches the subscription. A throw or a rejected promise is reported to
 * the bus's `onListenerError` and never reaches the emitter.
 *
 * @example
 * ```ts
 * const listener: EventListener = async (event) => await notifyTrader(event);
 * ```
 */
export type EventListener = (event: Event) => void | Promise<void>;

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

const GROUPS: ReadonlySet<string> = new Set(EVENT_TYPES.map((type) => type.slice(0, type.indexOf("."))));

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
  if (pattern === "*") return () => true;
  if (isEventType(pattern)) return (event) => event.event_type === pattern;
  if (typeof pattern === "string" && pattern.endsWith(".*") && GROUPS.has(pattern.slice(0, -2))) {
    const prefix = pattern.slice(0, -1);
    return (event) => event.event_type.startsWith(prefix);
  }
  throw EventValidationError.forField(
    "pattern",
    `${JSON.stringify(pattern) ?? String(pattern)} is not a subscription pattern; use "*", a group such as ` +
      `${[...GROUPS].map((group) => `"${group}.*"`).join(", ")}, or one of ${EVENT_TYPES.join(", ")}`,
  );
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}
