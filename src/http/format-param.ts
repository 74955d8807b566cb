import type { ValidationIssue } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import { showValue } from "../event/json-value.js";
import { toIabEvent } from "../interop/iab/iab-event.js";

/** The envelopes `GET {base}` and `GET {base}/stream` serve: the library's own (default) or IAB's canonical one. */
export type WireFormat = "event" | "iab";

/** Reads `format` from a raw query string: absent means `"event"`; anything but `event` or `iab` is an issue. */
export function readWireFormat(rawQuery: string): { format: WireFormat; issue?: ValidationIssue } {
  if (!rawQuery.includes("format")) return { format: "event" };
  const given = new URLSearchParams(rawQuery).getAll("format");
  if (given.length === 0) return { format: "event" };
  const [value] = given;
  if (given.length === 1 && (value === "event" || value === "iab")) return { format: value };
  const message =
    given.length > 1
      ? `must be given at most once, got ${given.length} values`
      : `must be "iab" (the IAB canonical envelope) or "event" (the default), got ${showValue(value)}`;
  return { format: "event", issue: { path: ["format"], message } };
}

/** The JSON text of an event in the IAB envelope, for list bodies and stream frames. */
export function iabJson(event: Event): string {
  return JSON.stringify(toIabEvent(event));
}
