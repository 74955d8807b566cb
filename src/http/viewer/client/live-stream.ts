import type { WireEvent } from "./api.js";
import { ApiError, fetchEvents, streamUrl } from "./api.js";

/** How the live connection is doing, as the page reports it. */
export type LiveStatus = "connecting" | "live" | "reconnecting" | "unavailable" | "off" | "summary";

export interface LiveHandlers {
  onEvent(event: WireEvent): void;
  onStatus(status: LiveStatus): void;
  /** The event the page followed from was deleted by retention (`410 Gone`): the page must start again. */
  onGone(): void;
}

export interface LiveStream {
  close(): void;
}

const FIRST_RETRY_MS = 2_000;
const LAST_RETRY_MS = 60_000;

/**
 * Follows `GET {base}/stream` for `query`, starting after `after` (the newest event the page already shows).
 * The browser's EventSource resumes by itself with `Last-Event-ID` after a dropped connection; when the server
 * refuses the stream (401, 503, a server without the route) it gives up, and this reopens it with backoff from
 * the last event seen, so nothing is skipped. A refusal is checked against the list first: when retention has
 * deleted that event (`410 Gone`), following from it is over and `onGone` says so.
 */
export function followEvents(query: URLSearchParams, after: string, handlers: LiveHandlers): LiveStream {
  let lastSeen = after;
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let delay = FIRST_RETRY_MS;
  let closed = false;

  const open = () => {
    const params = new URLSearchParams(query);
    if (lastSeen !== "") params.set("after", lastSeen);
    // Same origin: the browser sends the page's cookies (or HTTP auth) with the stream, as with every API call.
    const current = new EventSource(streamUrl(params));
    source = current;
    current.onopen = () => {
      delay = FIRST_RETRY_MS;
      handlers.onStatus("live");
    };
    current.onmessage = (message) => {
      const event = parseEvent(message.data);
      if (event === undefined) return;
      lastSeen = message.lastEventId || event.event_id;
      handlers.onEvent(event);
    };
    current.onerror = () => {
      if (closed) return;
      if (current.readyState !== EventSource.CLOSED) return handlers.onStatus("reconnecting");
      handlers.onStatus("unavailable");
      void pruned(query, lastSeen).then((gone) => {
        if (closed) return;
        if (gone) {
          closed = true;
          return handlers.onGone();
        }
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, LAST_RETRY_MS);
      });
    };
  };

  handlers.onStatus("connecting");
  open();
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      source?.close();
    },
  };
}

/** True when the list answers `410 Gone` for the cursor: the event was pruned, not the server down. */
async function pruned(query: URLSearchParams, after: string): Promise<boolean> {
  if (after === "") return false;
  const probe = new URLSearchParams(query);
  probe.delete("q"); // a search pages back only; the cursor alone says whether it was pruned
  probe.set("after", after);
  probe.set("limit", "1");
  try {
    await fetchEvents(probe, new AbortController().signal);
    return false;
  } catch (error) {
    return error instanceof ApiError && error.status === 410;
  }
}

function parseEvent(data: unknown): WireEvent | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const value = JSON.parse(data) as Partial<WireEvent> | null;
    return value !== null && typeof value.event_id === "string" ? (value as WireEvent) : undefined;
  } catch {
    return undefined;
  }
}
