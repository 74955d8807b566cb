import { fetchEvent, fetchEvents, fetchRowSummaries, type WireEvent } from "./api.js";
import { createDeskPanels } from "./desk-panels.js";
import { byId } from "./dom.js";
import { renderDetail, renderDetailMessage } from "./event-detail.js";
import { createEventList } from "./event-list.js";
import { bindFilterForm } from "./filter-form.js";
import { followEvents, type LiveStream } from "./live-stream.js";
import { showFailure, showListState, showLiveStatus } from "./page-status.js";
import { type RowSummaries, summarize, textMatcher } from "./row-summary.js";
import { createTimelinePanel } from "./timeline-panel.js";
import { apiQuery, type Filters, readState, sameFilters, searchOf, type ViewState } from "./url-state.js";

const PAGE_SIZE = "50";
const GONE_NOTICE =
  "Retention deleted events this page was following, so it started again from the newest events. Older ones may be missing from the list.";

const stateNode = byId("state", HTMLElement);
const liveNode = byId("live", HTMLElement);
const pauseButton = byId("pause", HTMLButtonElement);
const heldNode = byId("held", HTMLElement);
const olderButton = byId("older", HTMLButtonElement);
const dialog = byId("detail", HTMLDialogElement);
const detailTitle = byId("detail-title", HTMLElement);
const detailBody = byId("detail-body", HTMLElement);

/** The events the page has seen most recently, so a detail opens without a request. */
const known = new Map<string, WireEvent>();
const KNOWN_MAX = 5000;
const list = createEventList(
  byId("events", HTMLOListElement),
  (eventId) => navigate({ ...view, event: eventId }),
  () => {
    olderButton.hidden = false;
  },
  (event) => summarize(event, rowSummaries),
);
const timeline = createTimelinePanel(
  {
    section: byId("timeline", HTMLElement),
    title: byId("timeline-title", HTMLElement),
    chart: byId("chart", HTMLElement),
    steps: byId("steps", HTMLOListElement),
  },
  remember,
  (eventId) => searchOf({ filters: view.filters, event: eventId }),
);
const form = bindFilterForm(byId("filters", HTMLFormElement), (filters) =>
  navigate({ filters, event: "", summary: view.summary === true }),
);
const panels = createDeskPanels((eventId) => searchOf({ filters: view.filters, event: eventId, summary: true }));
let rowSummaries: RowSummaries = {};
const summariesRead = fetchRowSummaries().then((read) => {
  rowSummaries = read;
});

let view: ViewState = readState(location.search);
let loading: AbortController | undefined;
let live: LiveStream | undefined;
let paused = false;
/** With a search, the `before` cursor of Older: where the server's scan stopped (`next_before`). */
let olderCursor = "";
const held: WireEvent[] = [];

function navigate(next: ViewState, how: "push" | "replace" = "push"): void {
  const search = searchOf(next);
  const url = `${location.pathname}${search}`;
  // Applying the same filters again adds no history entry.
  if (how === "push" && search !== location.search) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  show(next);
}

function show(next: ViewState, first = false): void {
  const changed = !sameFilters(view.filters, next.filters);
  const reload = first || changed || (view.summary === true) !== (next.summary === true);
  if (changed) panels.notice("");
  view = next;
  panels.show(view, apiQuery(view.filters));
  pauseButton.hidden = view.summary === true; // the summary does not follow live events
  if (reload) {
    form.fill(view.filters);
    if (view.summary === true) {
      stopList();
      showLiveStatus(liveNode, "summary");
    } else void load(view.filters);
  }
  void showDetail(view.event);
}

function stopList(): void {
  loading?.abort();
  live?.close();
}

async function load(filters: Filters): Promise<void> {
  stopList();
  loading = new AbortController();
  const { signal } = loading;
  held.length = 0;
  updatePause();
  list.reset([]);
  olderButton.hidden = true;
  showListState(stateNode, "loading");
  const query = apiQuery(filters);
  try {
    const [page] = await Promise.all([fetchEvents(withParams(query, { limit: PAGE_SIZE }), signal), summariesRead]);
    remember(page.events);
    list.reset(page.events);
    olderCursor = page.next_before ?? list.oldestId();
    olderButton.hidden = !page.has_more;
    showListState(stateNode, list.size === 0 ? "empty" : "ready");
    void timeline.load(filters, signal);
    follow(filters, query);
  } catch (error) {
    if (!signal.aborted) showFailure(stateNode, error, () => void load(filters));
  }
}

function follow(filters: Filters, query: URLSearchParams): void {
  if (filters.until !== "") {
    showLiveStatus(liveNode, "off");
    return;
  }
  // The stream knows no `q`: the page applies the same test as the server to what it receives.
  const matches = filters.q === "" ? () => true : textMatcher(filters.q);
  live = followEvents(query, list.newestId(), {
    onStatus: (status) => showLiveStatus(liveNode, status),
    onGone() {
      void load(filters).then(() => panels.notice(GONE_NOTICE));
    },
    onEvent(event) {
      if (!matches(JSON.stringify(event))) return;
      remember([event]);
      if (paused) {
        if (!held.some((waiting) => waiting.event_id === event.event_id)) held.push(event);
        updatePause();
      } else showNew(event);
    },
  });
}

function showNew(event: WireEvent): void {
  if (!list.prepend(event)) return;
  showListState(stateNode, "ready");
  timeline.add(event);
}

async function loadOlder(): Promise<void> {
  olderButton.disabled = true;
  const signal = loading?.signal ?? new AbortController().signal;
  try {
    const query = withParams(apiQuery(view.filters), {
      limit: PAGE_SIZE,
      // Rows pushed out by live events move the oldest row; a search continues where its scan stopped.
      before: view.filters.q === "" ? list.oldestId() : olderCursor,
    });
    const page = await fetchEvents(query, signal);
    remember(page.events);
    list.appendOlder(page.events);
    olderCursor = page.next_before ?? list.oldestId();
    olderButton.hidden = !page.has_more;
  } catch (error) {
    if (!signal.aborted) showFailure(stateNode, error, () => void loadOlder());
  } finally {
    olderButton.disabled = false;
  }
}

async function showDetail(eventId: string): Promise<void> {
  if (eventId === "") {
    if (dialog.open) dialog.close();
    return;
  }
  let event = known.get(eventId);
  if (event === undefined) {
    renderDetailMessage(detailBody, detailTitle, "Loading…", `Loading event ${eventId}…`);
    if (!dialog.open) dialog.showModal();
    try {
      event = (await fetchEvent(eventId, new AbortController().signal)) ?? undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return renderDetailMessage(detailBody, detailTitle, "Could not load the event", message);
    }
    if (view.event !== eventId) return;
    if (event === undefined) return renderDetailMessage(detailBody, detailTitle, "Not found", `No event ${eventId}.`);
    remember([event]);
  }
  renderDetail(detailBody, detailTitle, event);
  if (!dialog.open) dialog.showModal();
}

function togglePause(): void {
  paused = !paused;
  if (!paused) for (const event of held.splice(0)) showNew(event);
  updatePause();
}

function updatePause(): void {
  pauseButton.setAttribute("aria-pressed", String(paused));
  pauseButton.textContent = paused ? "Resume" : "Pause";
  heldNode.hidden = !paused;
  heldNode.textContent = `${held.length} new`;
}

function remember(events: readonly WireEvent[]): void {
  for (const event of events) known.set(event.event_id, event);
  for (const oldest of known.keys()) {
    if (known.size <= KNOWN_MAX) break;
    known.delete(oldest);
  }
}

function withParams(query: URLSearchParams, extra: Record<string, string>): URLSearchParams {
  const params = new URLSearchParams(query);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params;
}

pauseButton.addEventListener("click", togglePause);
olderButton.addEventListener("click", () => void loadOlder());
byId("detail-close", HTMLButtonElement).addEventListener("click", () => dialog.close());
// Escape closes the dialog natively; either way the URL drops the event, so a reload shows the list.
dialog.addEventListener("close", () => {
  if (view.event !== "") navigate({ ...view, event: "" }, "replace");
});
// Links inside the page (`?session_id=...`) navigate in place, so back and forward keep working.
document.addEventListener("click", (click) => {
  const link = click.target instanceof Element ? click.target.closest("a") : null;
  if (link === null || !link.getAttribute("href")?.startsWith("?")) return;
  if (click.button !== 0 || click.metaKey || click.ctrlKey || click.shiftKey || click.altKey) return;
  click.preventDefault();
  if (dialog.open) dialog.close();
  navigate(readState(new URL(link.href).search));
});
window.addEventListener("popstate", () => show(readState(location.search)));
show(view, true);
