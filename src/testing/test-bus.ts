import { EventBus, type EventBusOptions } from "../bus/event-bus.js";
import { checkOptionKeys, type OptionKeys } from "../errors/option-keys.js";
import type { Event } from "../event/event.js";
import type { EventOf, NoPayloadSchemas, PayloadSchemas } from "../event/payload-schemas.js";
import { memoryStorage } from "../storage/memory/memory-storage.js";
import {
  describeEvents,
  describeMatcher,
  type EventMatcher,
  type MatcherPattern,
  matchesEvent,
} from "./event-matcher.js";
import { createSequentialIds, createTestClock, type TestClock } from "./test-clock.js";

/**
 * Options of {@link createTestBus}.
 *
 * @example
 * ```ts
 * const bus = createTestBus({ start: "2026-11-24T09:00:00Z", stepMs: 1000 });
 * ```
 */
export interface TestBusOptions<Schemas extends PayloadSchemas = NoPayloadSchemas> {
  /** First clock reading. Default: `2026-01-01T00:00:00.000Z`. */
  readonly start?: string | Date | undefined;
  /** Milliseconds the clock moves after each event is stamped. Default: 1, so events get distinct times. */
  readonly stepMs?: number | undefined;
  /** Passed to the bus. Default: 65536. */
  readonly maxPayloadBytes?: number | undefined;
  /** Passed to the bus. Default: rethrow nothing, record the error in `listenerErrors`. */
  readonly onListenerError?: EventBusOptions["onListenerError"];
  /**
   * Passed to the bus: what tails, consumers, HTTP handlers, webhooks and forwarders built on this bus report (listener
   * errors still go to `listenerErrors` or `onListenerError`). Default: the bus's one warning line per source.
   */
  readonly onError?: EventBusOptions["onError"];
  /** The event catalogue, as in `new EventBus({ payloads })`: validated at emit and carried by the types. */
  readonly payloads?: EventBusOptions<Schemas>["payloads"];
}

/**
 * Thrown by the expectation helpers; the message shows what was emitted instead.
 *
 * @example
 * ```ts
 * expect(() => bus.expectEmitted("deal.created")).toThrow(EventExpectationError);
 * ```
 */
export class EventExpectationError extends Error {
  override name = "EventExpectationError";
  /** Stable across versions, like the `code` of the library's other errors. */
  readonly code = "ERR_EVENT_EXPECTATION";
}

/**
 * An `EventBus` over memory storage with a controllable clock, deterministic ids and expectation helpers, for
 * unit tests of seller flows. Pass it wherever your code takes an `EventBus`.
 *
 * @example
 * ```ts
 * const bus = createTestBus();
 * await handleProposal(bus, proposal);
 * bus.expectEmitted({ event_type: "proposal.countered", proposal_id: proposal.id, payload: { counter_cpm: 11 } });
 * bus.expectSequence(["proposal.received", "proposal.evaluated", "proposal.countered"]);
 * ```
 */
export class TestEventBus<Schemas extends PayloadSchemas = NoPayloadSchemas> extends EventBus<Schemas> {
  /** The clock stamping events; move it with `advance` or `set`. */
  readonly clock: TestClock;
  /** Errors thrown by listeners, when no `onListenerError` was given. */
  readonly listenerErrors: unknown[] = [];
  private readonly recorded: Event[] = [];

  constructor(options: TestBusOptions<Schemas> = {}) {
    checkOptionKeys(options, TEST_BUS_OPTION_KEYS, "createTestBus");
    const clock = createTestClock({ start: options.start ?? "2026-01-01T00:00:00.000Z", stepMs: options.stepMs ?? 1 });
    const listenerErrors: unknown[] = [];
    super({
      payloads: options.payloads,
      storage: memoryStorage(),
      closeStorage: true,
      now: clock.now,
      generateId: createSequentialIds(),
      maxPayloadBytes: options.maxPayloadBytes,
      onListenerError: options.onListenerError ?? ((error) => listenerErrors.push(error)),
      onError: options.onError,
    });
    this.clock = clock;
    this.listenerErrors = listenerErrors;
    let flows = 0;
    this.newFlowId = () => `flow-${++flows}`;
    this.subscribe("*", (event) => {
      this.recorded.push(event as Event);
    });
  }

  /**
   * The events emitted so far, in order, optionally only those matching.
   *
   * @example
   * ```ts
   * expect(bus.emitted("negotiation.round")).toHaveLength(3);
   * ```
   */
  emitted<const Matcher extends EventMatcher = "*">(
    matcher: Matcher = "*" as Matcher,
  ): EventOf<Schemas, MatcherPattern<Matcher>>[] {
    return this.recorded.filter((event) => matchesEvent(event, matcher)) as EventOf<Schemas, MatcherPattern<Matcher>>[];
  }

  /**
   * Returns the first emitted event matching, or throws showing every event that was emitted.
   *
   * @example
   * ```ts
   * const deal = bus.expectEmitted({ event_type: EventType.DEAL_CREATED, payload: { cpm: 12 } });
   * ```
   */
  expectEmitted<const Matcher extends EventMatcher>(matcher: Matcher): EventOf<Schemas, MatcherPattern<Matcher>> {
    const found = this.recorded.find((event) => matchesEvent(event, matcher));
    if (found === undefined) {
      throw new EventExpectationError(
        `expected an event matching ${describeMatcher(matcher)}, but none of the ${this.recorded.length} emitted did:\n` +
          describeEvents(this.recorded),
      );
    }
    return found as EventOf<Schemas, MatcherPattern<Matcher>>;
  }

  /**
   * Throws when any emitted event matches.
   *
   * @example
   * ```ts
   * bus.expectNotEmitted("approval.*"); // the flow must not have asked a human
   * ```
   */
  expectNotEmitted(matcher: EventMatcher): void {
    const found = this.emitted(matcher);
    if (found.length > 0) {
      throw new EventExpectationError(
        `expected no event matching ${describeMatcher(matcher)}, but ${found.length} did:\n${describeEvents(found as readonly Event[])}`,
      );
    }
  }

  /**
   * Returns the matching events when there are exactly `times` of them; throws otherwise.
   *
   * @example
   * ```ts
   * bus.expectEmittedTimes("negotiation.round", 3);
   * ```
   */
  expectEmittedTimes<const Matcher extends EventMatcher>(
    matcher: Matcher,
    times: number,
  ): EventOf<Schemas, MatcherPattern<Matcher>>[] {
    const found = this.emitted(matcher);
    if (found.length !== times) {
      throw new EventExpectationError(
        `expected ${times} events matching ${describeMatcher(matcher)}, got ${found.length}. Emitted:\n` +
          describeEvents(this.recorded),
      );
    }
    return found;
  }

  /**
   * Checks that events matching each matcher were emitted in this order (other events may come between them) and
   * returns them.
   *
   * @example
   * ```ts
   * bus.expectSequence(["negotiation.started", "negotiation.round", { event_type: "negotiation.concluded" }]);
   * ```
   */
  expectSequence(matchers: readonly EventMatcher[]): EventOf<Schemas>[] {
    const found: Event[] = [];
    let position = 0;
    for (const [step, matcher] of matchers.entries()) {
      const index = this.recorded.findIndex((event, at) => at >= position && matchesEvent(event, matcher));
      if (index === -1) {
        const after = found.length > 0 ? ` after ${describeMatcher(matchers[step - 1] as EventMatcher)}` : "";
        throw new EventExpectationError(
          `expected step ${step + 1} of the sequence, ${describeMatcher(matcher)}${after}, but it was not emitted. ` +
            `Emitted:\n${describeEvents(this.recorded)}`,
        );
      }
      found.push(this.recorded[index] as Event);
      position = index + 1;
    }
    return found as EventOf<Schemas>[];
  }
}

/**
 * Makes a {@link TestEventBus}: memory storage, a clock starting at 2026-01-01 that steps 1 ms per event, ids
 * `00000000-0000-4000-8000-000000000001`, `...002`, ..., and scope flow ids `flow-1`, `flow-2`, ...: nothing
 * random, so two runs of one test emit identical events. Pass `payloads` for a typed catalogue.
 *
 * @example
 * ```ts
 * const bus = createTestBus({ start: "2026-11-24T09:00:00Z" });
 * await bus.emitEvent({ event_type: "session.created", session_id: "s-1" });
 * bus.expectEmitted({ event_type: "session.created", session_id: "s-1" }).event_id; // "00000000-0000-4000-8000-000000000001"
 * ```
 */
export function createTestBus<Schemas extends PayloadSchemas = NoPayloadSchemas>(
  options: TestBusOptions<Schemas> = {},
): TestEventBus<Schemas> {
  return new TestEventBus<Schemas>(options);
}

const TEST_BUS_OPTION_KEYS: OptionKeys<TestBusOptions> = {
  start: true,
  stepMs: true,
  maxPayloadBytes: true,
  onListenerError: true,
  onError: true,
  payloads: true,
};
