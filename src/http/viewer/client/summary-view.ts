import type { DealFunnel, DeskCounts } from "../../summary/desk-counts.js";
import { type Child, el, replaceChildren } from "./dom.js";
import { formatValue } from "./row-summary.js";
import { type OverTime, overTimeChart } from "./summary-chart.js";
import { ageOf, localTime, utcTitle } from "./time-format.js";

/** `GET {base}/summary` as the page reads it (its types are the server's, erased when the page is built). */
export interface DeskSummary extends DeskCounts {
  readonly scanned: number;
  readonly complete: boolean;
  readonly counted: number;
  readonly counted_from: string | null;
  readonly over_time: OverTime;
}

type FunnelStep = keyof DealFunnel;

const FUNNEL: readonly [FunnelStep, string][] = [
  ["proposals_received", "Proposals received"],
  ["accepted_or_countered", "Accepted or countered"],
  ["deals_created", "Deals created"],
  ["deals_registered", "Registered"],
  ["deals_synced", "Synced"],
];

/** Fills the summary section: what was counted, events over time, the funnel, approvals and negotiations. */
export function renderSummary(node: HTMLElement, summary: DeskSummary, linkTo: (eventId: string) => string): void {
  const now = Date.now();
  const scope = summary.complete
    ? `Counted all ${summary.counted} events of these filters.`
    : `Counted the newest ${summary.scanned} events of these filters (back to ${localTime(summary.counted_from ?? "")}); older ones are not in these numbers.`;
  replaceChildren(
    node,
    el("p", { class: "scope", "data-complete": String(summary.complete) }, scope),
    block("Events over time", overTimeChart(summary.over_time)),
    block("Deal funnel", funnel(summary.funnel)),
    block(
      `Pending approvals (${summary.pending_approvals.length})`,
      table(
        ["Requested", "Waiting", "Gate", "Deal", "Proposal", "Session"],
        summary.pending_approvals.map((approval) => [
          el("a", { href: linkTo(approval.event_id) }, when(approval.requested_at)),
          el("span", { class: "age", "data-requested": approval.requested_at }, ageOf(approval.requested_at, now)),
          approval.gate,
          approval.deal_id,
          approval.proposal_id,
          approval.session_id,
        ]),
        "No approval is waiting.",
      ),
    ),
    block("Negotiations", negotiations(summary.negotiations, linkTo)),
  );
}

function funnel(counts: DeskSummary["funnel"]): HTMLElement {
  const top = Math.max(1, ...FUNNEL.map(([key]) => counts[key] ?? 0));
  return el(
    "ol",
    { class: "funnel" },
    ...FUNNEL.map(([key, label]) => {
      const count = counts[key] ?? 0;
      const bar = el("span", { class: "funnel-bar" });
      bar.style.width = `${(100 * count) / top}%`; // CSSOM, not a style attribute: allowed by the CSP
      return el(
        "li",
        { "data-step": key },
        el("span", { class: "funnel-label" }, label),
        bar,
        el("strong", {}, String(count)),
      );
    }),
  );
}

function negotiations(data: DeskSummary["negotiations"], linkTo: (eventId: string) => string): HTMLElement {
  const pairs = (record: Readonly<Record<string, number>>, unit: (key: string) => string) =>
    Object.entries(record).map(([key, count]) => el("li", { "data-key": key }, `${unit(key)}: ${count}`));
  return el(
    "div",
    { class: "negotiations" },
    el("h4", {}, "Outcomes"),
    el("ul", { class: "counts outcomes" }, ...pairs(data.outcomes, (key) => key)),
    el("h4", {}, "Rounds to close"),
    el(
      "ul",
      { class: "counts rounds" },
      ...pairs(data.rounds_to_close, (key) => `${key} ${key === "1" ? "round" : "rounds"}`),
    ),
    table(
      ["Concluded", "Negotiation", "Outcome", "Rounds", "Final price"],
      data.closed.map((closed) => [
        el("a", { href: linkTo(closed.event_id) }, when(closed.concluded_at)),
        closed.negotiation,
        closed.outcome,
        String(closed.rounds),
        closed.price === null ? "" : (formatValue(closed.price, "cpm") ?? ""),
      ]),
      "No negotiation has concluded.",
    ),
  );
}

function block(title: string, content: Child): HTMLElement {
  return el("section", { class: "summary-block" }, el("h3", {}, title), content);
}

function when(iso: string): HTMLElement {
  return el("time", { datetime: iso, title: utcTitle(iso) }, localTime(iso));
}

/** A table of `rows`, leaving out the columns that are empty in every row (ids an approval does not have). */
function table(headings: readonly string[], rows: readonly Child[][], empty: string): HTMLElement {
  if (rows.length === 0) return el("p", { class: "state" }, empty);
  const used = headings.map((_, column) => rows.some((cells) => cells[column] !== "" && cells[column] != null));
  const keep = <T>(items: readonly T[]) => items.filter((_, column) => used[column]);
  return el(
    "div",
    { class: "table-box", tabindex: "0" },
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ...keep(headings).map((heading) => el("th", { scope: "col" }, heading)))),
      el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...keep(cells).map((cell) => el("td", {}, cell))))),
    ),
  );
}
