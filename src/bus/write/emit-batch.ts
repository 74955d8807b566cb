import { EventValidationError, type ValidationIssue } from "../../errors/error-classes.js";
import type { EmitEventInput, Event } from "../../event/event.js";
import type { AppendOutcome } from "../../storage/types.js";
import { findRepeatsInBatch, settleDuplicate } from "./idempotency.js";

/** A validated batch of `emitEvents`, ready for one `append`. */
export interface EmitBatch {
  /** Every event, in input order. */
  readonly events: readonly Event[];
  /** The events that go to storage: all but repeats of an identical earlier event of the same batch. */
  readonly appended: readonly Event[];
  readonly appendedIndexes: readonly number[];
  /** Index of a repeat -> index of the identical event it repeats. */
  readonly repeats: ReadonlyMap<number, number>;
  /** Whether each input gave its own timestamp (a retry then compares it). */
  readonly timestampGiven: readonly boolean[];
}

/**
 * Builds every event of a batch before anything is stored; all problems are reported at once, each path starting
 * with the input's index (`[2].payload.round`).
 */
export function buildBatch(
  inputs: readonly EmitEventInput[],
  build: (input: EmitEventInput) => { event: Event; timestampGiven: boolean },
): EmitBatch {
  if (!Array.isArray(inputs)) {
    throw EventValidationError.forField([], `emitEvents takes an array of emit inputs, got ${typeof inputs}`);
  }
  const events: Event[] = [];
  const issues: ValidationIssue[] = [];
  const timestampGiven: boolean[] = [];
  inputs.forEach((input, index) => {
    try {
      const built = build(input);
      events.push(built.event);
      timestampGiven.push(built.timestampGiven);
    } catch (error) {
      if (!EventValidationError.is(error)) throw error;
      for (const issue of error.issues) issues.push({ path: [index, ...issue.path], message: issue.message });
    }
  });
  if (issues.length > 0) throw new EventValidationError(issues);
  const repeats = findRepeatsInBatch(events, timestampGiven);
  const appendedIndexes = events.map((_, index) => index).filter((index) => !repeats.has(index));
  const appended = appendedIndexes.map((index) => events[index] as Event);
  return { events, appended, appendedIndexes, repeats, timestampGiven };
}

/**
 * Resolves each event of a stored batch in order: a new one is delivered to subscribers, a retry answers the stored
 * event, a conflict rejects the call (after the new events were delivered: they are stored).
 */
export function settleBatch(
  batch: EmitBatch,
  outcomes: readonly AppendOutcome[],
  deliver: (event: Event) => void,
): Event[] {
  const { events, appendedIndexes, repeats, timestampGiven } = batch;
  const results: Event[] = [...events];
  let conflict: unknown;
  appendedIndexes.forEach((eventIndex, position) => {
    const event = events[eventIndex] as Event;
    const existing = outcomes[position];
    if (existing === null || existing === undefined) {
      deliver(event);
      return;
    }
    try {
      results[eventIndex] = settleDuplicate(existing, event, timestampGiven[eventIndex] === true);
    } catch (error) {
      conflict ??= error;
    }
  });
  if (conflict !== undefined) throw conflict;
  for (const [index, first] of repeats) results[index] = results[first] as Event;
  return results;
}
