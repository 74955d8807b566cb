import type { WireEvent } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { type FilterKey, filterLink } from "./url-state.js";

const FIELDS = [
  "event_id",
  "event_type",
  "timestamp",
  "flow_id",
  "flow_type",
  "session_id",
  "proposal_id",
  "deal_id",
] as const;

/** Fields whose value names something the list can be filtered by, with the link's wording. */
const LINKS: Partial<Record<(typeof FIELDS)[number], [FilterKey, string]>> = {
  session_id: ["session_id", "events of this session"],
  deal_id: ["deal_id", "events of this deal"],
  proposal_id: ["proposal_id", "events of this proposal"],
  flow_id: ["flow_id", "events of this flow"],
};

/** Fills the detail panel with every field of `event`; payload and metadata as indented JSON, as text. */
export function renderDetail(body: HTMLElement, title: HTMLElement, event: WireEvent): void {
  title.textContent = event.event_type;
  const rows = FIELDS.flatMap((field) => {
    const value = event[field];
    const link = LINKS[field];
    return [
      el("dt", {}, field),
      el(
        "dd",
        {},
        el("code", { class: value === "" ? "empty" : "" }, value === "" ? '""' : value),
        link !== undefined && value !== ""
          ? el("a", { href: filterLink(link[0], value), class: "filter-link", "data-filter": link[0] }, link[1])
          : null,
      ),
    ];
  });
  replaceChildren(
    body,
    el("dl", { class: "fields" }, ...rows),
    el("h3", {}, "payload"),
    el("pre", { class: "json", tabindex: "0" }, JSON.stringify(event.payload, null, 2)),
    el("h3", {}, "metadata"),
    el("pre", { class: "json", tabindex: "0" }, JSON.stringify(event.metadata, null, 2)),
  );
}

/** The detail panel's text when the event cannot be shown. */
export function renderDetailMessage(body: HTMLElement, title: HTMLElement, heading: string, message: string): void {
  title.textContent = heading;
  replaceChildren(body, el("p", { class: "state" }, message));
}
