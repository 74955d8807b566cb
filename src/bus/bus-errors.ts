import type { Event } from "../event/event.js";
import { describeThrown } from "../event/json-value.js";

/**
 * What the bus-level `onError` receives: the error, where it came from (`source`), and the event it concerns when
 * there is one (the event a listener failed on, or the single event a consumer or forwarder was handling).
 *
 * @example
 * ```ts
 * const bus = new EventBus({
 *   onError: ({ source, error, event }: BusErrorReport) => log.warn({ source, event_id: event?.event_id, err: error }),
 * });
 * ```
 */
export interface BusErrorReport {
  /**
   * A subscriber (`"listener"`), a `tail`, a durable consumer, the outbox, an HTTP handler, the webhook dispatcher,
   * or `forwardEvents` (`"sink"`).
   */
  readonly source: "listener" | "tail" | "consumer" | "outbox" | "http" | "webhook" | "sink";
  readonly error: unknown;
  readonly event?: Event | undefined;
}

/** Where a report came from. */
export type ErrorSource = BusErrorReport["source"];

/**
 * Hands each report to the bus's `onError`. Without one (or when it throws), the first error of each source is
 * written as a single console line, so that a failure is never silent and a flood never fills the log.
 */
export class ErrorReporter {
  private readonly warned = new Set<ErrorSource>();

  constructor(private readonly handler: ((report: BusErrorReport) => void) | undefined) {}

  report(report: BusErrorReport): void {
    if (this.handler === undefined) {
      this.warnOnce(report.source, report.error);
      return;
    }
    try {
      this.handler(report);
    } catch (secondary) {
      this.warnOnce(report.source, secondary);
    }
  }

  /**
   * A per-call handler when given, else this reporter under `source`; a per-call handler that throws has its error
   * reported here instead of losing it.
   */
  route<Args extends unknown[]>(
    source: ErrorSource,
    own: ((...args: Args) => void) | undefined,
    toReport: (...args: Args) => Omit<BusErrorReport, "source">,
  ): (...args: Args) => void {
    return (...args) => {
      if (own === undefined) {
        this.report({ source, ...toReport(...args) });
        return;
      }
      try {
        own(...args);
      } catch (secondary) {
        this.report({ source, error: secondary });
      }
    };
  }

  private warnOnce(source: ErrorSource, error: unknown): void {
    if (this.warned.has(source)) return;
    this.warned.add(source);
    // A hostile error object (a throwing getter or toString) must not turn the warning into a second failure.
    const text = describeThrown(error)
      .replace(/^\w*Error: /, "")
      .replace(/^\[ad-seller-events\] /, "")
      .split("\n")[0];
    console.warn(`[ad-seller-events] ${source} error: ${text} (further ${source} errors are silent; pass onError)`);
  }
}

const reporters = new WeakMap<object, ErrorReporter>();

/** Makes `owner` (a bus, or an object the bus hands out) answer `reporterOf` with the bus's reporter. */
export function registerReporter(owner: object, reporter: ErrorReporter): void {
  reporters.set(owner, reporter);
}

/**
 * The reporter of the bus `owner` belongs to: how the HTTP handlers, webhooks, forwarders and the outbox reach the
 * bus's `onError` without a public option. Anything else (a stand-in bus in a test) gets a reporter of its own.
 */
export function reporterOf(owner: object | undefined): ErrorReporter {
  const found = owner === undefined ? undefined : reporters.get(owner);
  if (found !== undefined) return found;
  const standalone = new ErrorReporter(undefined);
  if (owner !== undefined) reporters.set(owner, standalone);
  return standalone;
}
