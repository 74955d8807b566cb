/**
 * `/events` through the Web fetch handler, routed by Hono and served by @hono/node-server. The same handler runs
 * unchanged in Bun, Deno, Cloudflare Workers or a Next.js route handler. Run: `npx tsx examples/fetch/server.ts`
 * (PORT, default 3000).
 */
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { EventBus, EventType } from "ad-seller-events";
import { createEventsFetchHandler } from "ad-seller-events/http";
import { Hono } from "hono";

/**
 * The app: `/events` and everything under it goes to the fetch handler, other routes stay Hono's.
 *
 * @example
 * ```ts
 * serve({ fetch: createHonoApp(bus).fetch, port: 3000 });
 * ```
 */
export function createHonoApp(bus: EventBus): Hono {
  const events = createEventsFetchHandler(bus);
  const app = new Hono();
  app.all("/events", (c) => events(c.req.raw));
  app.all("/events/*", (c) => events(c.req.raw));
  app.get("/health", (c) => c.json({ status: "ok" }));
  return app;
}

/**
 * Starts the Hono example on `port` (0 picks a free one).
 *
 * @example
 * ```ts
 * const server = await startFetchServer(bus, { port: 0 });
 * ```
 */
export async function startFetchServer(
  bus: EventBus,
  { port = 3000, host = "127.0.0.1" }: { port?: number; host?: string } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  // Without a `createServer` option, serve() makes a plain node:http server.
  const server = serve({ fetch: createHonoApp(bus).fetch, port, hostname: host }) as Server;
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bus = new EventBus();
  await bus.emitEvent({ event_type: EventType.APPROVAL_REQUESTED, payload: { gate: "deal_over_100k" } });
  const server = await startFetchServer(bus, { port: Number(process.env.PORT ?? 3000) });
  console.log(`fetch (Hono) example listening: curl ${server.url}/events`);
}
