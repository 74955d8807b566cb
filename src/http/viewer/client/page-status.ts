import { ApiError } from "./api.js";
import { type Child, el, replaceChildren } from "./dom.js";
import type { LiveStatus } from "./live-stream.js";

/** What the list area says: nothing (`ready`), or why it is empty. */
export type ListState = "loading" | "empty" | "error" | "unauthorized" | "ready";

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  unavailable: "live updates unavailable, retrying",
  off: "live updates off while an until time is set",
  summary: "counts as of opening the summary",
};

/** Shows a list state in `node` (`data-state` carries it for styling and tests). */
export function showListState(node: HTMLElement, state: ListState, retry?: () => void, message = ""): void {
  node.dataset.state = state;
  node.hidden = state === "ready";
  replaceChildren(node, ...stateContent(state, retry, message));
}

function stateContent(state: ListState, retry: (() => void) | undefined, message: string): Child[] {
  switch (state) {
    case "loading":
      return ["Loading events…"];
    case "empty":
      return ["No events match these filters. New ones appear here as they happen."];
    case "unauthorized":
      return [
        el("strong", {}, "401 Not authorized. "),
        "This page reads the events API with the same credentials as the API itself. Sign in to the app that serves it, then reload.",
      ];
    case "error":
      return [
        el("strong", {}, "Could not load events. "),
        message,
        " ",
        retry === undefined ? null : retryButton(retry),
      ];
    case "ready":
      return [];
  }
}

/** The list state for a failed call: 401 has its own, everything else shows the API's own words. */
export function showFailure(node: HTMLElement, error: unknown, retry: () => void): void {
  if (error instanceof ApiError && error.status === 401) showListState(node, "unauthorized");
  else showListState(node, "error", retry, error instanceof Error ? error.message : String(error));
}

/** Shows the live connection's state. */
export function showLiveStatus(node: HTMLElement, status: LiveStatus): void {
  node.dataset.live = status;
  node.textContent = LIVE_TEXT[status];
}

function retryButton(retry: () => void): HTMLButtonElement {
  const button = el("button", { type: "button", class: "retry" }, "Try again");
  button.addEventListener("click", retry);
  return button;
}
