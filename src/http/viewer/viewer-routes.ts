import type { CoreResponse } from "../responses.js";
import { json, problem, serialisedText } from "../responses.js";
import { type EventsViewerOptions, readViewerOptions } from "./row-summaries.js";

export type { EventsViewerOptions } from "./row-summaries.js";

/** Serves one viewer path: `allowed` runs the API's `authorize` for the request. */
export type ViewerPage = (method: string, allowed: () => Promise<boolean>) => Promise<CoreResponse>;

/** The viewer's routes under `{basePath}/ui`, built only when the handler is created with `viewer: true`. */
export interface ViewerRoutes {
  /** The page serving `path`, or `undefined` when `path` is not under `{basePath}/ui`. */
  match(path: string): ViewerPage | undefined;
}

type ViewerPagesModule = typeof import("./viewer-pages.js");

/** Where the assets and the page text live: loaded on the first viewer request, so apps without it pay nothing. */
let pagesModule: Promise<ViewerPagesModule> | undefined;

/** Builds the `/ui` routes for a handler whose API lives at `basePath` (already normalised, no trailing slash). */
export function createViewerRoutes(basePath: string, options: true | EventsViewerOptions): ViewerRoutes {
  const root = `${basePath}/ui`;
  // The application's row summaries: its own words about its payloads, read by the page under `authorize`.
  const summaries = serialisedText(JSON.stringify(readViewerOptions(options)));
  return {
    match(path) {
      if (path === root || path === `${root}/`) return (method, allowed) => shell(method, allowed, path === root);
      if (path === `${root}/row-summaries.json`) {
        return async (method, allowed) => {
          if (!(await allowed())) return problem(401, "Missing or invalid credentials for the events API");
          return readOnly(method) ? json(summaries) : notAllowed();
        };
      }
      if (!path.startsWith(`${root}/`)) return undefined;
      const asset = path.slice(root.length + 1);
      return (method) => serveAsset(method, asset);
    },
  };
}

async function shell(method: string, allowed: () => Promise<boolean>, bare: boolean): Promise<CoreResponse> {
  // authorize first, as for the API. A person who may not read events still gets the page (status 401), which
  // then shows why it is empty instead of a raw problem document.
  const authorized = await allowed();
  if (authorized && !readOnly(method)) return notAllowed();
  const pages = await loadPages();
  return pages.shellPage(authorized ? 200 : 401, bare ? "ui/" : "");
}

async function serveAsset(method: string, asset: string): Promise<CoreResponse> {
  // The assets are the package's own static files, the same bytes for everyone and holding no event: they are
  // served without `authorize`, so that the page can load and show its 401 state, and may be cached publicly.
  if (!readOnly(method)) return notAllowed();
  const pages = await loadPages();
  return pages.assetPage(asset) ?? problem(404, "No such viewer asset; reload the page");
}

function loadPages(): Promise<ViewerPagesModule> {
  pagesModule ??= import("./viewer-pages.js");
  return pagesModule;
}

function readOnly(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

function notAllowed(): CoreResponse {
  return problem(405, "The events page answers GET and HEAD only", { allow: "GET, HEAD" });
}
