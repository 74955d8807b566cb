import { type Event, eventSchema } from "../../event/event.js";
import { EVENT_TYPES } from "../../event/event-type.js";

/**
 * The part of vitest's (or jest's) `expect` the conformance suite uses.
 *
 * @example
 * ```ts
 * expect(events).toHaveLength(3); // vitest's and jest's matchers fit
 * ```
 */
export interface ConformanceMatchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toHaveLength(length: number): void;
  toBeNull(): void;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
  toMatch(expected: RegExp | string): void;
}

/**
 * `expect` as the conformance suite calls it.
 *
 * @example
 * ```ts
 * import { expect } from "vitest";
 * const check: ConformanceExpect = expect;
 * ```
 */
export type ConformanceExpect = (actual: unknown, message?: string) => ConformanceMatchers;

/**
 * `describe` as the conformance suite calls it.
 *
 * @example
 * ```ts
 * import { describe } from "vitest";
 * const group: ConformanceDescribe = describe;
 * ```
 */
export type ConformanceDescribe = (name: string, body: () => void) => void;

/**
 * `it` as the conformance suite calls it.
 *
 * @example
 * ```ts
 * import { it } from "vitest";
 * const test: ConformanceIt = it;
 * ```
 */
export type ConformanceIt = (name: string, body: () => Promise<void>, timeoutMs?: number) => void;

const BASE_TIME = Date.parse("2026-03-01T12:00:00.000Z");

/** A valid, frozen event for seeding a store directly; `index` spaces timestamps one second apart. */
export function buildEvent(index: number, fields: Partial<Record<keyof Event, unknown>> = {}): Event {
  const parsed = eventSchema.parse({
    event_id: crypto.randomUUID(),
    event_type: EVENT_TYPES[index % EVENT_TYPES.length],
    timestamp: new Date(BASE_TIME + index * 1000).toISOString(),
    ...fields,
  });
  return Object.freeze({ ...parsed });
}

/**
 * 24 events spread over 3 flows, 2 flow types, 4 sessions, 2 proposals (some none), 6 deals and every event type,
 * so that each filter, alone or combined, selects a different subset.
 */
export function buildDataset(): Event[] {
  return Array.from({ length: 24 }, (_, index) =>
    buildEvent(index, {
      flow_id: `flow-${index % 3}`,
      flow_type: index % 2 === 0 ? "deal_sync" : "proposal_handling",
      session_id: `session-${index % 4}`,
      proposal_id: index % 5 === 0 ? "" : `proposal-${index % 2}`,
      deal_id: `deal-${index % 6}`,
      payload: { index },
    }),
  );
}

/** Appends events in batches of at most `batchSize`, in order. */
export async function seed(
  append: (events: readonly Event[]) => Promise<unknown>,
  events: readonly Event[],
  batchSize = 250,
): Promise<void> {
  for (let start = 0; start < events.length; start += batchSize) {
    await append(events.slice(start, start + batchSize));
  }
}

/** Resolves with what a promise rejects with, or fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to reject, but it resolved");
}

/** True when the value and everything reachable from it is frozen. */
export function isDeeplyFrozen(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeeplyFrozen);
}

/** Event ids, for comparing listings by identity and order. */
export function idsOf(events: readonly Event[]): string[] {
  return events.map((event) => event.event_id);
}
