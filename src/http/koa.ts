import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { EventBus } from "../bus/event-bus.js";
import { createEventsCore, type EventsHttpOptions } from "./core.js";
import { nodeHeaders } from "./node.js";
import { isStreamResponse } from "./sse/stream-route.js";
import { runStreamOnNode } from "./sse/stream-transports.js";

/**
 * The parts of a Koa context the middleware uses, declared structurally so that neither this package nor its
 * types depend on `koa`. A Koa `Context` satisfies it.
 *
 * @example
 * ```ts
 * const authorize = ({ native }: EventsHttpRequest<KoaContextLike>) => native.headers["x-api-key"] === apiKey;
 * ```
 */
export interface KoaContextLike {
  readonly method: string;
  /** The path, relative to the mount point under `koa-mount`. */
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly querystring: string;
  readonly headers: IncomingHttpHeaders;
  status: number;
  body: unknown;
  set(fields: { [name: string]: string }): void;
  /** Node's response, written directly by `GET {basePath}/stream` (with `respond` set to `false`). */
  readonly res?: ServerResponse | undefined;
  /** Koa's switch for writing the response itself; the stream route turns it off. */
  respond?: boolean | undefined;
}

/**
 * Koa middleware, usable as `app.use(middleware)`.
 *
 * @example
 * ```ts
 * const middleware: EventsKoaMiddleware = createEventsKoaMiddleware(bus);
 * ```
 */
export type EventsKoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

/**
 * Serves `GET {basePath}` (default `/events`; `q` searches), `/{event_id}`, `/stream` (server-sent events), `/export`
 * (CSV, JSON Lines) and `/summary`, and, with `viewer: true`, the page at `{basePath}/ui` in a Koa 3 app; other
 * paths go on to `next()`. Koa sends `HEAD` answers without their body.
 *
 * @example
 * ```ts
 * import Koa from "koa";
 * import { createEventsKoaMiddleware } from "ad-seller-events/http";
 *
 * const app = new Koa();
 * app.use(createEventsKoaMiddleware(bus, { basePath: "/api/events" }));
 * app.listen(8000);
 * ```
 */
export function createEventsKoaMiddleware(
  bus: EventBus,
  options: EventsHttpOptions<KoaContextLike> = {},
): EventsKoaMiddleware {
  const core = createEventsCore(bus, options);
  return async (ctx, next) => {
    const response = await core.handle({
      method: ctx.method,
      path: ctx.path,
      query: ctx.querystring,
      headers: nodeHeaders(ctx.headers),
      native: ctx,
    });
    if (response === undefined) {
      await next();
      return;
    }
    if (isStreamResponse(response)) {
      if (ctx.res === undefined) {
        response.stream.stop();
        throw new Error("GET /stream needs a Koa context with ctx.res");
      }
      // Koa must not write this response: the stream does, for as long as the client stays.
      ctx.respond = false;
      void runStreamOnNode(response, ctx.res);
      return;
    }
    // Status first: Koa turns an implicit status into 200 when the body is set.
    ctx.status = response.status;
    ctx.set(response.headers);
    ctx.body = response.body;
  };
}
