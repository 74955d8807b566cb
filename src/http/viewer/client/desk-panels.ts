import { exportUrl, fetchSummary } from "./api.js";
import { byId, el, replaceChildren } from "./dom.js";
import { EVENT_TYPE_GROUPS } from "./event-types.js";
import { showFailure } from "./page-status.js";
import { type DeskSummary, renderSummary } from "./summary-view.js";
import { searchOf, type ViewState } from "./url-state.js";

/** The parts of the page around the list: the view tabs, export links, the stripe legend, notices, the summary. */
export interface DeskPanels {
  /** Shows `view`: the summary (loading its counts) or the list; points tabs and export links at its filters. */
  show(view: ViewState, query: URLSearchParams): void;
  /** A sentence above the list (`""` hides it). */
  notice(text: string): void;
}

export function createDeskPanels(linkTo: (eventId: string) => string): DeskPanels {
  const summaryNode = byId("summary", HTMLElement);
  const listNode = byId("list", HTMLElement);
  const noticeNode = byId("notice", HTMLElement);
  const tabs = { events: byId("tab-events", HTMLAnchorElement), summary: byId("tab-summary", HTMLAnchorElement) };
  const exports = { csv: byId("export-csv", HTMLAnchorElement), jsonl: byId("export-jsonl", HTMLAnchorElement) };
  let loading: AbortController | undefined;
  let shownQuery = "";

  replaceChildren(
    byId("stripes", HTMLUListElement),
    ...Object.keys(EVENT_TYPE_GROUPS).map((group) => el("li", { class: `stripe group-${group}` }, group)),
  );

  const loadSummary = async (query: URLSearchParams) => {
    loading?.abort();
    loading = new AbortController();
    const { signal } = loading;
    replaceChildren(summaryNode, el("p", { class: "state", "data-state": "loading" }, "Counting events…"));
    try {
      const summary = (await fetchSummary(query, signal)) as DeskSummary;
      if (!signal.aborted) renderSummary(summaryNode, summary, linkTo);
    } catch (error) {
      if (signal.aborted) return;
      const state = el("p", { class: "state" });
      summaryNode.replaceChildren(state);
      showFailure(state, error, () => void loadSummary(query));
    }
  };

  return {
    show(view, query) {
      const summary = view.summary === true;
      tabs.events.href = searchOf({ filters: view.filters, event: "" });
      tabs.summary.href = searchOf({ filters: view.filters, event: "", summary: true });
      tabs.events.removeAttribute("aria-current");
      tabs.summary.removeAttribute("aria-current");
      (summary ? tabs.summary : tabs.events).setAttribute("aria-current", "page");
      exports.csv.href = exportUrl(query, "csv");
      exports.jsonl.href = exportUrl(query, "jsonl");
      summaryNode.hidden = !summary;
      listNode.hidden = summary;
      const key = `${summary}:${query.toString()}`;
      if (summary && key !== shownQuery) void loadSummary(query);
      shownQuery = summary ? key : "";
    },
    notice(text) {
      noticeNode.hidden = text === "";
      noticeNode.textContent = text;
    },
  };
}
