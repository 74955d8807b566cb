import type { WireEvent } from "./api.js";

/** Per type, the parts of a row's summary: texts with `{field}` or `{field:format}` holes (see EventsViewerOptions). */
export type RowSummaries = Readonly<Record<string, readonly string[]>>;

const SESSION = ["buyer {buyer}", "{buyer_name}", "{advertiser}", "{reason}"];
const PACKAGE = ["{package_id}", "{package}", "{name}", "{impressions:number} impressions"];
const APPROVAL = ["gate {gate}", "by {approver}", "{reason}"];

/** What each type's row says when the application names nothing else: common seller payload fields. */
export const BUILT_IN_SUMMARIES: RowSummaries = {
  "proposal.received": ["from {buyer}", "from {buyer_name}", "{advertiser}", "budget {budget:money}", "asks {cpm:cpm}"],
  "proposal.evaluated": ["score {score:number}", "{recommendation}", "{decision}"],
  "proposal.accepted": ["at {cpm:cpm}", "at {final_cpm:cpm}", "budget {budget:money}"],
  "proposal.rejected": ["{reason}"],
  "proposal.countered": ["counter {counter_cpm:cpm}", "counter {cpm:cpm}", "{reason}"],
  "deal.created": ["{deal_type}", "at {cpm:cpm}", "at {final_cpm:cpm}", "budget {budget:money}"],
  "deal.registered": ["with {ad_server}", "{platform}", "{external_id}"],
  "deal.synced": ["to {ad_server}", "{platform}", "{status}"],
  "execution.completed": ["{package_id}", "{impressions:number} impressions", "spend {spend:money}"],
  "approval.requested": ["gate {gate}", "at {cpm:cpm}", "{amount:money}", "{reason}"],
  "approval.granted": APPROVAL,
  "approval.denied": APPROVAL,
  "approval.timed_out": APPROVAL,
  "session.created": SESSION,
  "session.resumed": SESSION,
  "session.closed": SESSION,
  "package.created": PACKAGE,
  "package.updated": PACKAGE,
  "package.synced": PACKAGE,
  "negotiation.started": ["floor {floor_cpm:cpm}", "target {target_cpm:cpm}", "budget {budget:money}"],
  "negotiation.round": ["round {round}", "buyer {buyer_cpm:cpm}", "seller {seller_cpm:cpm}"],
  "negotiation.concluded": ["{outcome}", "at {final_cpm:cpm}", "after {rounds} rounds"],
};

const HOLE = /\{(\$?[A-Za-z0-9_.]+)(?::([a-z]+))?\}/g;
const CURRENCY = /^[A-Z]{3}$/;
const MAX_SUMMARY = 200;

/**
 * The row's words for an event: each part of its type's summary whose every field is present, joined by ` · `;
 * `""` when none applies (the row then shows the raw payload).
 */
export function summarize(event: WireEvent, summaries: RowSummaries): string {
  const parts = summaries[event.event_type] ?? BUILT_IN_SUMMARIES[event.event_type] ?? [];
  const said: string[] = [];
  for (const part of parts) {
    let complete = true;
    const text = part.replace(HOLE, (_, path: string, format: string | undefined) => {
      const value = valueAt(event, path);
      const shown = value === undefined ? undefined : formatValue(value, format, event.payload.currency);
      if (shown === undefined) complete = false;
      return shown ?? "";
    });
    if (complete && text.trim() !== "") said.push(text);
  }
  const summary = said.join(" · ");
  return summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY - 1)}…` : summary;
}

/** A number or text as the desk reads it: money with its currency (`payload.currency`, else USD), CPM, %. */
export function formatValue(value: unknown, format = "text", currency: unknown = undefined): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  const code = typeof currency === "string" && CURRENCY.test(currency) ? currency : "USD";
  switch (format) {
    case "money":
      return new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: code,
        minimumFractionDigits: Number.isInteger(value) ? 0 : 2,
        maximumFractionDigits: 2,
      }).format(value);
    case "cpm":
      return `${new Intl.NumberFormat(undefined, { style: "currency", currency: code, minimumFractionDigits: 2 }).format(value)} CPM`;
    case "percent":
      return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(value)}%`;
    default:
      return new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(value);
  }
}

function valueAt(event: WireEvent, path: string): unknown {
  if (path.startsWith("$")) return (event as unknown as Record<string, unknown>)[path.slice(1)];
  let value: unknown = event.payload;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The search rule of `q`, as the server applies it: the event's JSON text holds the term, ignoring case. */
export function textMatcher(term: string): (text: string) => boolean {
  const needle = JSON.stringify(term.trim()).slice(1, -1).toLowerCase();
  return (text) => text.toLowerCase().includes(needle);
}
