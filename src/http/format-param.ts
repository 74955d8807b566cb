import type { ValidationIssue } from "../errors/error-classes.js";
import { toIabEvent } from "../event/envelopes/iab-event.js";
import type { Event } from "../event/event.js";
import { showValue } from "../event/json-value.js";
import { readExtraParams } from "./search/extra-params.js";

/** The envelopes `GET {base}` and `GET {base}/stream` serve: the library's own (default) or IAB's canonical one. */
export type WireFormat = "event" | "iab";

/** Reads `format` from a raw query string: absent means `"event"`; anything but `event` or `iab` is an issue. */
export function readWireFormat(rawQuery: string): { format: WireFormat; issue?: ValidationIssue } {
  if (!rawQuery.includes("format")) return { format: "event" };
  const { values, issues } = readExtraParams(rawQuery, ["format"]);
  const [issue] = issues;
  if (issue !== undefined) return { format: "event", issue };
  const value = values.format;
  if (value === undefined || value === "event" || value === "iab") return { format: value ?? "event" };
  const message = `must be "iab" (the IAB canonical envelope) or "event" (the default), got ${showValue(value)}`;
  return { format: "event", issue: { path: ["format"], message } };
}

/** The JSON text of an event in the IAB envelope, for list bodies and stream frames. */
export function iabJson(event: Event): string {
  return JSON.stringify(toIabEvent(event));
}
