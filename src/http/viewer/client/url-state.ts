import { EVENT_TYPE_GROUPS } from "./event-types.js";

/** The filters the page keeps in its own URL, so that a link shows the same view. */
export const FILTER_KEYS = [
  "group",
  "event_type",
  "session_id",
  "flow_id",
  "proposal_id",
  "deal_id",
  "since",
  "until",
  "q",
] as const;

export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Readonly<Record<FilterKey, string>>;

/** What the page's URL says: the filters, the event whose detail is open (`event`), and which view is shown. */
export interface ViewState {
  readonly filters: Filters;
  readonly event: string;
  /** `view=summary` in the URL: the counts instead of the list. */
  readonly summary?: boolean;
}

/** Reads the view from a query string such as `location.search`. */
export function readState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const filters = {} as Record<FilterKey, string>;
  for (const key of FILTER_KEYS) filters[key] = (params.get(key) ?? "").trim();
  return { filters, event: (params.get("event") ?? "").trim(), summary: params.get("view") === "summary" };
}

/** The query string (with `?`, or empty) of a view; empty filters are left out so links stay short. */
export function searchOf(state: ViewState): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (state.filters[key] !== "") params.set(key, state.filters[key]);
  if (state.event !== "") params.set("event", state.event);
  if (state.summary === true) params.set("view", "summary");
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

/** Whether two views show the same list (the open detail aside). */
export function sameFilters(a: Filters, b: Filters): boolean {
  return FILTER_KEYS.every((key) => a[key] === b[key]);
}

/**
 * The API query for the filters. A type group becomes the list of its types, which every version of
 * `GET {base}` understands (`event_type` takes a comma list); chosen types (a comma list) win over their group.
 */
export function apiQuery(filters: Filters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.event_type !== "") params.set("event_type", filters.event_type);
  else if (filters.group !== "")
    params.set("event_type", (EVENT_TYPE_GROUPS[filters.group] ?? [filters.group]).join(","));
  for (const key of ["session_id", "flow_id", "proposal_id", "deal_id", "since", "until", "q"] as const) {
    if (filters[key] !== "") params.set(key, filters[key]);
  }
  return params;
}

/** A link to the page filtered by one id field, e.g. every event of a session. */
export function filterLink(key: FilterKey, value: string): string {
  return `?${new URLSearchParams({ [key]: value }).toString()}`;
}
