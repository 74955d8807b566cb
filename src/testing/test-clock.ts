import { EventValidationError } from "../errors/error-classes.js";
import { showValue } from "../event/json-value.js";
import { normalizeTimestamp } from "../event/timestamp.js";

/**
 * A clock a test drives by hand.
 *
 * @example
 * ```ts
 * bus.clock.advance(15 * 60_000); // let an approval time out
 * ```
 */
export interface TestClock {
  /** The current time as the canonical timestamp; what the bus stamps on the next event. */
  now(): string;
  /** Moves the clock forward (or back, with a negative value) by `milliseconds`. */
  advance(milliseconds: number): void;
  /** Sets the clock to a timestamp (ISO-8601 or `Date`). */
  set(time: string | Date): void;
}

/**
 * A clock that stands still unless told to move, or moves by `stepMs` after every reading.
 *
 * @example
 * ```ts
 * const clock = createTestClock({ start: "2026-11-24T10:00:00Z" });
 * clock.advance(60_000);
 * clock.now(); // "2026-11-24T10:01:00.000Z"
 * ```
 */
export function createTestClock(options: { start?: string | Date; stepMs?: number } = {}): TestClock {
  let millis = parseTime(options.start ?? "2026-01-01T00:00:00.000Z", "start");
  const step = options.stepMs ?? 0;
  return {
    now() {
      const reading = new Date(millis).toISOString();
      millis += step;
      return reading;
    },
    advance(milliseconds: number) {
      if (!Number.isFinite(milliseconds)) {
        throw EventValidationError.forField("milliseconds", `must be a finite number, got ${milliseconds}`);
      }
      millis += milliseconds;
    },
    set(time: string | Date) {
      millis = parseTime(time, "time");
    },
  };
}

/**
 * Makes deterministic UUIDs: `00000000-0000-4000-8000-000000000001`, then `...0002`, and so on.
 *
 * @example
 * ```ts
 * const nextId = createSequentialIds();
 * nextId(); // "00000000-0000-4000-8000-000000000001"
 * ```
 */
export function createSequentialIds(): () => string {
  let counter = 0;
  return () => {
    counter += 1;
    return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
  };
}

function parseTime(time: string | Date, field: string): number {
  const timestamp = normalizeTimestamp(time);
  if (timestamp === null)
    throw EventValidationError.forField(field, `must be an ISO-8601 timestamp, got ${showValue(time)}`);
  return Date.parse(timestamp);
}
