import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { EventBus } from "../bus/event-bus.js";
import { createEventsCore, type EventsHttpOptions, type EventsRequestHeaders } from "./core.js";
import { isStreamResponse } from "./sse/stream-route.js";
import { runStreamOnNode } from "./sse/stream-transports.js";

/**
 * A `(req, res, next?)` handler for `node:http`, Express, Connect and Fastify's raw request/response. Its promise
 * never rejects: every failure is answered (and reported to `onError`).
 *
 * @example
 * ```ts
 * const handler: EventsNodeHandler = createEventsHandler(bus);
 * createServer((req, res) => handler(req, res, () => otherRoutes(req, res)));
 * ```
 */
export type EventsNodeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/**
 * Serves `GET {basePath}` (default `/events`; `q` searches), `/{event_id}`, `/stream` (server-sent events), `/export`
 * (CSV, JSON Lines) and `/summary`, and, with `viewer: true`, the page at `{basePath}/ui`, from `req.url`, which
 * Express and Connect make relative to the mount path: `app.use("/api", handler)` serves `/api/events`. Other paths
 * go to `next()`, or get a `404` when there is no `next`.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { createEventsHandler } from "ad-seller-events/http";
 *
 * const handler = createEventsHandler(bus, { maxLimit: 500 });
 * createServer((req, res) => handler(req, res)).listen(8000);
 * // Express: app.use(handler), or app.use("/api", handler) for /api/events
 * ```
 */
export function createEventsHandler(
  bus: EventBus,
  options: EventsHttpOptions<IncomingMessage> = {},
): EventsNodeHandler {
  const core = createEventsCore(bus, options);
  return async (req, res, next) => {
    const url = req.url ?? "/";
    const mark = url.indexOf("?");
    const method = req.method ?? "GET";
    const response = await core.handle({
      method,
      path: mark < 0 ? url : url.slice(0, mark),
      query: mark < 0 ? "" : url.slice(mark + 1),
      headers: nodeHeaders(req.headers),
      native: req,
    });
    if (response === undefined && next !== undefined) return next();
    // An event stream runs on until the client or the bus goes; the handler's promise does not wait for it.
    if (response !== undefined && isStreamResponse(response)) return void runStreamOnNode(response, res);
    // The client may have gone while storage answered: there is nobody left to write to.
    if (res.headersSent || res.destroyed) return;
    const { status, headers, body } = response ?? core.notFound;
    res.writeHead(status, headers);
    res.end(method === "HEAD" ? undefined : body);
  };
}

/** Reads Node's lower-cased header object through the Web `Headers.get` shape (shared with the Koa wrapper). */
export function nodeHeaders(headers: Readonly<IncomingHttpHeaders>): EventsRequestHeaders {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}
