import type { EventBus } from "../bus/event-bus.js";
import { createEventsCore, type EventsHttpOptions } from "./core.js";
import { isStreamResponse } from "./sse/stream-route.js";
import { streamToReadable } from "./sse/stream-transports.js";

/**
 * A Web handler: `Request` in, `Response` out.
 *
 * @example
 * ```ts
 * const handler: EventsFetchHandler = createEventsFetchHandler(bus);
 * const response = await handler(new Request("http://localhost/events?limit=10"));
 * ```
 */
export type EventsFetchHandler = (request: Request) => Promise<Response>;

/**
 * Serves `GET {basePath}` (default `/events`; `q` searches), `/{event_id}`, `/stream` (server-sent events), `/export`
 * (CSV, JSON Lines) and `/summary`, and, with `viewer: true`, the page at `{basePath}/ui` to any fetch-style runtime:
 * Hono, Next.js route handlers, Bun, Deno, Cloudflare Workers. `basePath` is matched against the whole URL path, and
 * any other path gets a `404` problem document.
 *
 * @example
 * ```ts
 * import { createEventsFetchHandler } from "ad-seller-events/http";
 *
 * const handler = createEventsFetchHandler(bus);
 * Bun.serve({ port: 8000, fetch: handler });
 * // Hono: app.all("/events/*", (c) => handler(c.req.raw)); app.all("/events", (c) => handler(c.req.raw));
 * ```
 */
export function createEventsFetchHandler(bus: EventBus, options: EventsHttpOptions<Request> = {}): EventsFetchHandler {
  const core = createEventsCore(bus, options);
  return async (request) => {
    const url = new URL(request.url);
    const answer =
      (await core.handle({
        method: request.method,
        path: url.pathname,
        query: url.search.slice(1),
        headers: request.headers,
        native: request,
      })) ?? core.notFound;
    if (isStreamResponse(answer)) {
      // Runtimes that abort the request when the client goes, rather than cancelling the body, end it this way.
      const stop = () => answer.stream.stop();
      request.signal?.addEventListener("abort", stop, { once: true });
      answer.stream.signal.addEventListener("abort", () => request.signal?.removeEventListener("abort", stop), {
        once: true,
      });
      return new Response(streamToReadable(answer), { status: answer.status, headers: answer.headers });
    }
    return new Response(request.method === "HEAD" ? null : answer.body, {
      status: answer.status,
      headers: answer.headers,
    });
  };
}
