import { fetchEvents, type WireEvent } from "./api.js";
import { el, replaceChildren } from "./dom.js";
import { groupOf } from "./event-types.js";
import { localTime, utcTitle } from "./time-format.js";
import { floorOf, timelineChart } from "./timeline-chart.js";
import type { Filters } from "./url-state.js";

const ROUNDS_LIMIT = "1000";
const STEPS_LIMIT = "200";

export interface TimelineNodes {
  readonly section: HTMLElement;
  readonly title: HTMLElement;
  readonly chart: HTMLElement;
  readonly steps: HTMLOListElement;
}

/** The timeline of one session or deal: its events oldest first, and its negotiation rounds as a chart. */
export interface TimelinePanel {
  /** Shows the timeline for the filters' session (or else deal); hides the panel when they name neither. */
  load(filters: Filters, signal: AbortSignal): Promise<void>;
  /** Adds a live event when it belongs to the timeline shown. */
  add(event: WireEvent): void;
}

export function createTimelinePanel(
  nodes: TimelineNodes,
  remember: (events: readonly WireEvent[]) => void,
  linkTo: (eventId: string) => string,
): TimelinePanel {
  let shown: { key: "session_id" | "deal_id"; value: string; rounds: WireEvent[]; floor?: number } | undefined;

  const fetchRounds = async (key: string, value: string, signal: AbortSignal) => {
    const query = new URLSearchParams({ [key]: value, event_type: "negotiation.round", limit: ROUNDS_LIMIT });
    const page = await fetchEvents(query, signal);
    remember(page.events);
    return [...page.events];
  };
  const step = (event: WireEvent) =>
    el(
      "li",
      { class: `step group-${groupOf(event.event_type).replace(/[^a-z_]/g, "")}` },
      el("a", { href: linkTo(event.event_id) }, event.event_type),
      " ",
      el("time", { datetime: event.timestamp, title: utcTitle(event.timestamp) }, localTime(event.timestamp)),
    );

  return {
    async load(filters, signal) {
      shown = undefined;
      const key = filters.session_id !== "" ? "session_id" : filters.deal_id !== "" ? "deal_id" : undefined;
      nodes.section.hidden = key === undefined;
      if (key === undefined) return;
      const value = filters[key];
      nodes.title.textContent = `Timeline of ${key === "session_id" ? "session" : "deal"} ${value}`;
      replaceChildren(nodes.chart, "Loading rounds…");
      nodes.steps.replaceChildren();
      try {
        const events = await fetchEvents(new URLSearchParams({ [key]: value, limit: STEPS_LIMIT }), signal);
        remember(events.events);
        replaceChildren(nodes.steps, ...events.events.map(step));
        let rounds = await fetchRounds(key, value, signal);
        // Rounds usually come before the deal exists: a deal without rounds of its own shows its proposal's.
        const proposal = events.events.find((event) => event.proposal_id !== "")?.proposal_id;
        if (rounds.length === 0 && key === "deal_id" && proposal !== undefined) {
          rounds = await fetchRounds("proposal_id", proposal, signal);
        }
        const floor = floorOf([
          ...events.events.filter((event) => event.event_type === "negotiation.started"),
          ...rounds,
        ]);
        shown = floor === undefined ? { key, value, rounds } : { key, value, rounds, floor };
        replaceChildren(nodes.chart, timelineChart(rounds, floor));
      } catch (error) {
        if (!signal.aborted) replaceChildren(nodes.chart, error instanceof Error ? error.message : String(error));
      }
    },
    add(event) {
      if (shown === undefined || event[shown.key] !== shown.value) return;
      nodes.steps.append(step(event));
      if (event.event_type !== "negotiation.round") return;
      shown.rounds.push(event);
      replaceChildren(nodes.chart, timelineChart(shown.rounds, shown.floor));
    },
  };
}
