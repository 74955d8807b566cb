// Type-only, so the browser bundle never loads it: the build transpiles each file alone and drops the import.
import type { Event } from "../../../event/event.js";

/** An event as `GET {base}` sends it: the library's own `Event`, as JSON. */
export type WireEvent = Event;

export interface EventsPage {
  readonly events: readonly WireEvent[];
  readonly has_more: boolean;
  /** With `q`: the `before` cursor of the next (older) page, or `null` at the end. */
  readonly next_before?: string | null;
}

/** A failed API call: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The API's base (`{base}/`): this module is served from `{base}/ui/<version>/`. */
const base = new URL("../../", import.meta.url);
const listPath = base.pathname.replace(/\/$/, "") || "/";

/** `GET {base}` with the given query: the page of events, oldest first. */
export async function fetchEvents(query: URLSearchParams, signal: AbortSignal): Promise<EventsPage> {
  const body = await getJson(`${listPath}?${query.toString()}`, signal);
  return body as EventsPage;
}

/** `GET {base}/{event_id}`: the event, or `null` when there is none. */
export async function fetchEvent(eventId: string, signal: AbortSignal): Promise<WireEvent | null> {
  try {
    return (await getJson(`${base.pathname}${encodeURIComponent(eventId)}`, signal)) as WireEvent;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** `GET {base}/summary` with the list's filters: the desk's counts (see summary-view.ts for the shape). */
export async function fetchSummary(query: URLSearchParams, signal: AbortSignal): Promise<unknown> {
  return getJson(`${base.pathname}summary?${query.toString()}`, signal);
}

/** The application's row summaries (`viewer.rowSummaries`), `{}` when it names none or they cannot be read. */
export async function fetchRowSummaries(): Promise<Record<string, readonly string[]>> {
  try {
    const body = await getJson(
      new URL("../row-summaries.json", import.meta.url).pathname,
      new AbortController().signal,
    );
    return typeof body === "object" && body !== null ? (body as Record<string, readonly string[]>) : {};
  } catch {
    return {};
  }
}

/** The URL of `GET {base}/export` for a query, as a file in `format`. */
export function exportUrl(query: URLSearchParams, format: "csv" | "jsonl"): string {
  const params = new URLSearchParams(query);
  params.set("format", format);
  return `${base.pathname}export?${params.toString()}`;
}

/** The URL of `GET {base}/stream` for a query. */
export function streamUrl(query: URLSearchParams): string {
  return `${base.pathname}stream?${query.toString()}`;
}

async function getJson(url: string, signal: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: "application/json" }, credentials: "same-origin" });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new ApiError(0, "The events API cannot be reached. Check the connection and try again.");
  }
  if (response.ok) return response.json();
  throw new ApiError(response.status, await problemDetail(response));
}

async function problemDetail(response: Response): Promise<string> {
  try {
    const problem = (await response.json()) as { detail?: unknown };
    if (typeof problem.detail === "string") return problem.detail;
  } catch {
    // not a problem document: fall back to the status line
  }
  return `The events API answered ${response.status} ${response.statusText}`.trim();
}
