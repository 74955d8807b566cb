import { reporterOf } from "../bus/bus-errors.js";
import type { EventBus } from "../bus/event-bus.js";
import {
  capIssues,
  EventBusError,
  EventGapError,
  EventValidationError,
  type ValidationIssue,
} from "../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../errors/option-keys.js";
import { showValue } from "../event/json-value.js";
import { MAX_LIMIT, normalizeEventQuery } from "../event/query.js";
import { exportEvents } from "./export/export-route.js";
import { iabJson, readWireFormat } from "./format-param.js";
import { parseListQuery } from "./query-string.js";
import { type CoreResponse, json, listBody, problem, serialisedText } from "./responses.js";
import { readSearchParam } from "./search/extra-params.js";
import { searchEvents } from "./search/search-route.js";
import { openEventStream, readStreamSettings, type StreamResponse } from "./sse/stream-route.js";
import { summarizeEvents } from "./summary/summary-route.js";
import { createViewerRoutes, type EventsViewerOptions } from "./viewer/viewer-routes.js";

/**
 * Request headers as `authorize` sees them: the `get` of the Web `Headers` API (names are case-insensitive).
 *
 * @example
 * ```ts
 * const token = request.headers.get("Authorization")?.replace(/^Bearer /, "");
 * ```
 */
export interface EventsRequestHeaders {
  /** The header's value, several values joined by `", "`, or `null` when absent. */
  get(name: string): string | null;
}

/**
 * The transport-neutral view of a request that `authorize` and `onError` receive, the same in every wrapper.
 *
 * @example
 * ```ts
 * const authorize = (request: EventsHttpRequest) => request.headers.get("x-api-key") === process.env.EVENTS_API_KEY;
 * ```
 */
export interface EventsHttpRequest<Native = unknown> {
  /** The request method as sent, e.g. `"GET"`. */
  readonly method: string;
  /** The path as received (still percent-encoded), relative to where the handler is mounted. */
  readonly path: string;
  /** `path` plus `?` and the raw query string when there is one. */
  readonly url: string;
  readonly headers: EventsRequestHeaders;
  /** The framework's own request: `IncomingMessage` (node), the Koa context, or the Web `Request` (fetch). */
  readonly native: Native;
}

/**
 * Options shared by `createEventsHandler`, `createEventsKoaMiddleware` and `createEventsFetchHandler`.
 *
 * @example
 * ```ts
 * const options: EventsHttpOptions = {
 *   basePath: "/api/events",
 *   authorize: (request) => request.headers.get("authorization") === `Bearer ${process.env.EVENTS_TOKEN}`,
 *   maxLimit: 200,
 *   onError: (error) => logger.error({ err: error }, "events endpoint failed"),
 * };
 * ```
 */
export interface EventsHttpOptions<Native = unknown> {
  /**
   * Where the routes live, relative to the mount point: `GET {basePath}` and `GET {basePath}/{event_id}`.
   * Default `/events`; `/` serves at the mount point itself.
   */
  readonly basePath?: string | undefined;
  /** Decides whether a request may read events; `false` answers `401` before any lookup. Default: everyone may. */
  readonly authorize?: ((request: EventsHttpRequest<Native>) => boolean | Promise<boolean>) | undefined;
  /** Largest `limit` a client may ask for, from 1 to 1000. Default 1000. */
  readonly maxLimit?: number | undefined;
  /** `GET {basePath}/stream`: milliseconds between `: keep-alive` comments. Default 15000. */
  readonly heartbeatMs?: number | undefined;
  /** `GET {basePath}/stream`: most streams open at once through this handler; past it `503`. Default 1000. */
  readonly maxStreams?: number | undefined;
  /** `GET {basePath}/stream`: the `retry:` value sent first (an `EventSource`'s reconnect delay, ms). Default 3000. */
  readonly retryMs?: number | undefined;
  /**
   * Receives storage failures (answered `503`) and unexpected errors (answered `500`). Default: the bus's `onError`,
   * as `{ source: "http", error }`.
   */
  readonly onError?: ((error: unknown, request: EventsHttpRequest<Native>) => void) | undefined;
  /**
   * Also serve the events page for people at `GET {basePath}/ui` (and its assets under `{basePath}/ui/`), under the
   * same `authorize`. Default `false`: the routes do not exist. An object turns it on with options, e.g. the
   * application's own row summaries per event type.
   */
  readonly viewer?: boolean | EventsViewerOptions | undefined;
}

/** What a wrapper hands the core: the request split into parts, nothing framework-specific. */
export interface CoreRequest<Native> {
  readonly method: string;
  readonly path: string;
  /** The raw query string, without the `?`. */
  readonly query: string;
  readonly headers: EventsRequestHeaders;
  readonly native: Native;
}

/** The core of every wrapper: `handle` answers `undefined` for paths outside `basePath`. */
export interface EventsCore<Native> {
  handle(request: CoreRequest<Native>): Promise<CoreResponse | StreamResponse | undefined>;
  /** The `404` for a path outside `basePath`, for transports with nothing to fall through to. */
  readonly notFound: CoreResponse;
}

/** Longest accepted path plus query string; no valid query comes close (every value is capped at 256 chars). */
export const MAX_URL_LENGTH = 8192;
const ALLOW = "GET, HEAD";
const BASE_PATH = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*\/?$/;

type Route =
  | { kind: "list" }
  | { kind: "stream" }
  | { kind: "export" }
  | { kind: "summary" }
  | { kind: "item"; rawId: string }
  | { kind: "nested" };

/** Builds the transport-neutral handler; each wrapper only translates its framework's request and response. */
export function createEventsCore<Native>(bus: EventBus, given: EventsHttpOptions<Native> = {}): EventsCore<Native> {
  const options = readHttpOptions(given);
  const basePath = checkBasePath(options.basePath ?? "/events");
  const maxLimit = checkMaxLimit(options.maxLimit ?? MAX_LIMIT);
  const { authorize } = options;
  const onError = reporterOf(bus).route("http", options.onError, (error: unknown) => ({ error }));
  const notFound = problem(404, `Nothing is served here; the events API is at ${basePath || "/"}`);
  const streamSettings = readStreamSettings(options);
  const streamSlots = { open: 0 };
  const exportSlots = { open: 0 };

  async function answer(request: CoreRequest<Native>, route: Route): Promise<CoreResponse | StreamResponse> {
    if (authorize !== undefined && (await authorize(viewOf(request))) !== true) {
      return problem(401, "Missing or invalid credentials for the events API");
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return problem(405, `${basePath || "/"} answers GET and HEAD only`, { allow: ALLOW });
    }
    if (request.path.length + request.query.length > MAX_URL_LENGTH) {
      return problem(414, `The request URL is longer than ${MAX_URL_LENGTH} characters`);
    }
    if (route.kind === "list") return listEvents(request.query);
    if (route.kind === "stream") {
      const report = (error: unknown) => onError(error, viewOf(request));
      return openEventStream(bus, request, { maxLimit, settings: streamSettings, onError: report }, streamSlots);
    }
    if (route.kind === "export" || route.kind === "summary") {
      const report = (error: unknown) => onError(error, viewOf(request));
      return await readable(() =>
        route.kind === "export"
          ? exportEvents(bus, request, { onError: report, slots: exportSlots })
          : summarizeEvents(bus, request.query, Date.now),
      );
    }
    if (route.kind === "nested") return problem(404, "Event not found");
    return getEvent(route.rawId, request.query);
  }

  async function listEvents(rawQuery: string): Promise<CoreResponse> {
    const { query, issues } = parseListQuery(rawQuery, maxLimit);
    const term = readSearchParam(rawQuery, query, issues);
    const { format, issue } = readWireFormat(rawQuery);
    if (issue !== undefined) issues.push(issue);
    if (term !== undefined && format === "iab") {
      issues.push({ path: ["format"], message: 'cannot be combined with q: a search answers in the "event" format' });
    }
    try {
      if (term !== undefined && issues.length === 0) return await searchEvents(bus, query, { term, maxLimit });
      if (issues.length > 0) {
        normalizeEventQuery(query, { maxLimit }); // adds what the bus would say about the readable parameters
        return invalidQuery(issues, "query");
      }
      if (format === "iab") {
        const page = await bus.listEventsPage(query);
        return json(listBody(page.events.map(iabJson), page.has_more));
      }
      // The limit was checked against maxLimit above; the bus picks the cheapest way to the JSON texts.
      const page = await bus.listEventsJsonPage(query);
      return json(listBody(page.json, page.has_more));
    } catch (error) {
      if (error instanceof EventValidationError) return invalidQuery([...issues, ...error.issues], "query");
      if (error instanceof EventGapError) return gone(error);
      throw error;
    }
  }

  async function getEvent(rawId: string, rawQuery: string): Promise<CoreResponse> {
    const eventId = decodePathSegment(rawId);
    if (eventId === undefined) {
      return invalidQuery([{ path: ["event_id"], message: "is not valid percent-encoded UTF-8" }], "path");
    }
    const { format, issue } = readWireFormat(rawQuery);
    if (issue !== undefined) return invalidQuery([issue], "query");
    if (format === "iab") {
      const event = await bus.getEvent(eventId);
      return event === null ? problem(404, "Event not found") : json(serialisedText(iabJson(event)));
    }
    const text = await bus.getEventJson(eventId);
    return text === null ? problem(404, "Event not found") : json(serialisedText(text));
  }

  // The events page (`viewer: true`): its own routes under `{basePath}/ui`, the same `authorize`.
  const viewer = options.viewer ? createViewerRoutes(basePath, options.viewer) : undefined;
  const allowed = async (request: CoreRequest<Native>) =>
    authorize === undefined || (await authorize(viewOf(request))) === true;

  return {
    notFound,
    async handle(request) {
      const route = matchRoute(request.path, basePath);
      if (route === undefined) return undefined;
      try {
        const page = viewer?.match(request.path);
        if (page !== undefined) return await page(request.method, () => allowed(request));
        return await answer(request, route);
      } catch (error) {
        onError(error, viewOf(request));
        return failure(error);
      }
    },
  };
}

const HTTP_OPTION_KEYS: OptionKeys<EventsHttpOptions> = {
  basePath: true,
  authorize: true,
  maxLimit: true,
  heartbeatMs: true,
  maxStreams: true,
  retryMs: true,
  onError: true,
  viewer: true,
};

/** Unknown keys and hostile objects refused, each option read once; the callbacks and `viewer` checked here. */
function readHttpOptions<Native>(given: EventsHttpOptions<Native>): EventsHttpOptions<Native> {
  const options = readOptions(given, HTTP_OPTION_KEYS as OptionKeys<EventsHttpOptions<Native>>, "the events handler");
  for (const name of ["authorize", "onError"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "function") {
      throw EventValidationError.forField(name, `must be a function, got ${showValue(value)}`);
    }
  }
  const { viewer } = options;
  if (viewer !== undefined && typeof viewer !== "boolean" && (typeof viewer !== "object" || viewer === null)) {
    throw EventValidationError.forField("viewer", `must be true, false or { rowSummaries }, got ${showValue(viewer)}`);
  }
  return options;
}

/** A StorageError, or a closed bus, means the store cannot answer now: not the client's fault, and not a bug. */
function failure(error: unknown): CoreResponse {
  return error instanceof EventBusError
    ? problem(503, "The event store is unavailable; try again later")
    : problem(500, "The events API failed unexpectedly");
}

/** The answer of a route whose bad parameters and pruned cursors come as thrown errors. */
async function readable<Response>(call: () => Promise<Response>): Promise<Response | CoreResponse> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof EventValidationError) return invalidQuery(error.issues, "query");
    if (error instanceof EventGapError) return gone(error);
    throw error;
  }
}

/** A cursor that named a pruned event: `410 Gone`, with where the retained events start. */
function gone(error: EventGapError): CoreResponse {
  return problem(410, error.message.replace(/^\[ad-seller-events\] /, ""), { oldest: error.oldest });
}

function invalidQuery(issues: readonly ValidationIssue[], where: "query" | "path"): CoreResponse {
  // Bus issue paths may index into the event_type list; clients only need the parameter's name. At most
  // MAX_REPORTED_ISSUES are listed (plus one counting the rest), so a query full of bad values answers a few KB.
  const errors = capIssues(issues).map((issue) => ({ loc: [where, ...issue.path.slice(0, 1)], msg: issue.message }));
  const detail = errors.map((error) => `${error.loc.slice(1).join(".") || where}: ${error.msg}`).join("; ");
  return problem(400, detail, { errors });
}

function matchRoute(path: string, basePath: string): Route | undefined {
  if (!path.startsWith(basePath)) return undefined;
  let rest = path.slice(basePath.length);
  if (rest !== "" && rest.charCodeAt(0) !== 47 /* "/" */) return undefined;
  // One trailing slash is ignored, as in Express's default (non-strict) routing.
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  if (rest === "") return { kind: "list" };
  if (rest === "/stream") return { kind: "stream" };
  if (rest === "/export") return { kind: "export" };
  if (rest === "/summary") return { kind: "summary" };
  const rawId = rest.slice(1);
  // Deeper paths (`/events//x`, `/events/../admin`) are never normalised: they are under basePath and name no event.
  return rawId.includes("/") ? { kind: "nested" } : { kind: "item", rawId };
}

function decodePathSegment(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function viewOf<Native>(request: CoreRequest<Native>): EventsHttpRequest<Native> {
  const { method, path, query, headers, native } = request;
  return { method, path, url: query === "" ? path : `${path}?${query}`, headers, native };
}

function checkBasePath(basePath: string): string {
  if (typeof basePath !== "string" || !BASE_PATH.test(basePath)) {
    throw EventValidationError.forField(
      "basePath",
      `must be a path such as "/events" or "/api/events" (or "/" for the mount point), got ${JSON.stringify(basePath)}`,
    );
  }
  return basePath.endsWith("/") ? basePath.slice(0, -1) : basePath;
}

function checkMaxLimit(maxLimit: number): number {
  if (!(Number.isInteger(maxLimit) && maxLimit >= 1 && maxLimit <= MAX_LIMIT)) {
    throw EventValidationError.forField(
      "maxLimit",
      `must be an integer from 1 to ${MAX_LIMIT}, got ${showValue(maxLimit)}`,
    );
  }
  return maxLimit;
}
