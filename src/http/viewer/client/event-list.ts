import type { WireEvent } from "./api.js";
import { el } from "./dom.js";
import { groupOf } from "./event-types.js";
import { localTime, utcTitle } from "./time-format.js";

/** The list of events, newest first, each row a focusable element that opens the event's detail. */
export interface EventList {
  /** Shows `events` (oldest first, as the API returns them) in place of the current rows. */
  reset(events: readonly WireEvent[]): void;
  /** Adds one newer event at the top; `false` when it is already shown. */
  prepend(event: WireEvent): boolean;
  /** Adds an older page (oldest first) at the bottom. */
  appendOlder(events: readonly WireEvent[]): void;
  /** The oldest shown event's id (the `before` cursor), or `""`. */
  oldestId(): string;
  /** The newest shown event's id (the `after` cursor), or `""`. */
  newestId(): string;
  readonly size: number;
}

const PREVIEW_CHARS = 140;
/** Rows kept while following a busy stream; older ones leave the bottom and come back through Older events. */
export const MAX_ROWS = 1000;

/**
 * `trimmed` runs when live events pushed rows out at the bottom (so there are older events to page to); `describe`
 * gives a row its words (the type's summary), `""` to show the raw payload instead.
 */
export function createEventList(
  container: HTMLOListElement,
  open: (eventId: string) => void,
  trimmed: () => void,
  describe: (event: WireEvent) => string,
): EventList {
  const shown = new Set<string>();
  const rowOf = (target: EventTarget | null) =>
    target instanceof Element ? target.closest<HTMLElement>("li[data-event-id]") : null;

  container.addEventListener("click", (click) => {
    const row = rowOf(click.target);
    if (row?.dataset.eventId !== undefined) open(row.dataset.eventId);
  });
  container.addEventListener("keydown", (key) => {
    const row = rowOf(key.target);
    if (row === null) return;
    if (key.key === "Enter" || key.key === " ") {
      key.preventDefault();
      if (row.dataset.eventId !== undefined) open(row.dataset.eventId);
    } else if (key.key === "ArrowDown" || key.key === "ArrowUp") {
      key.preventDefault();
      const next = key.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (next instanceof HTMLElement) next.focus();
    }
  });

  const add = (event: WireEvent, where: "top" | "bottom"): boolean => {
    if (shown.has(event.event_id)) return false;
    shown.add(event.event_id);
    const row = eventRow(event, describe(event));
    if (where === "bottom") container.append(row);
    else {
      container.prepend(row);
      if (shown.size > MAX_ROWS) trim();
    }
    return true;
  };
  const trim = () => {
    while (shown.size > MAX_ROWS && container.lastElementChild instanceof HTMLElement) {
      shown.delete(container.lastElementChild.dataset.eventId ?? "");
      container.lastElementChild.remove();
    }
    trimmed();
  };
  const idAt = (row: Element | null) => (row instanceof HTMLElement ? (row.dataset.eventId ?? "") : "");

  return {
    reset(events) {
      shown.clear();
      container.replaceChildren();
      for (const event of events) add(event, "top");
    },
    prepend: (event) => add(event, "top"),
    appendOlder(events) {
      for (let index = events.length - 1; index >= 0; index--) add(events[index] as WireEvent, "bottom");
    },
    oldestId: () => idAt(container.lastElementChild),
    newestId: () => idAt(container.firstElementChild),
    get size() {
      return shown.size;
    },
  };
}

function eventRow(event: WireEvent, summary: string): HTMLLIElement {
  const ids = [
    ["session", event.session_id],
    ["deal", event.deal_id],
    ["proposal", event.proposal_id],
    ["flow", event.flow_id],
  ].filter(([, value]) => value !== "");
  return el(
    "li",
    {
      class: `row group-${groupOf(event.event_type).replace(/[^a-z_]/g, "")}`,
      tabindex: "0",
      "data-event-id": event.event_id,
      "aria-label": `${event.event_type} at ${event.timestamp}`,
    },
    el(
      "time",
      { class: "when", datetime: event.timestamp, title: utcTitle(event.timestamp) },
      localTime(event.timestamp),
    ),
    el("span", { class: "type" }, event.event_type),
    summary === "" ? null : el("span", { class: "summary-text" }, summary),
    el("span", { class: "ids" }, ids.map(([name, value]) => `${name} ${value}`).join(" · ")),
    summary === "" ? el("span", { class: "preview" }, preview(event.payload)) : null,
  );
}

function preview(payload: Readonly<Record<string, unknown>>): string {
  const text = JSON.stringify(payload);
  if (text === "{}") return "";
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}
