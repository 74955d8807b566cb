/**
 * `/events` in a Koa 3 app. Run: `npx tsx examples/koa/server.ts` (PORT, default 3000).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { EventBus, EventType } from "ad-seller-events";
import { createEventsKoaMiddleware } from "ad-seller-events/http";
import Koa from "koa";

/**
 * The app: the events middleware first, then the app's own routes, which see every path outside `/events`.
 *
 * @example
 * ```ts
 * createKoaApp(bus).listen(3000);
 * ```
 */
export function createKoaApp(bus: EventBus): Koa {
  const app = new Koa();
  app.use(createEventsKoaMiddleware(bus, { maxLimit: 200 }));
  app.use((ctx) => {
    if (ctx.path === "/health") ctx.body = { status: "ok" };
  });
  return app;
}

/**
 * Starts the Koa example on `port` (0 picks a free one).
 *
 * @example
 * ```ts
 * const server = await startKoaServer(bus, { port: 0 });
 * ```
 */
export async function startKoaServer(
  bus: EventBus,
  { port = 3000, host = "127.0.0.1" }: { port?: number; host?: string } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(createKoaApp(bus).callback());
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bus = new EventBus();
  await bus.emitEvent({ event_type: EventType.PACKAGE_CREATED, payload: { package: "pkg-news" } });
  const server = await startKoaServer(bus, { port: Number(process.env.PORT ?? 3000) });
  console.log(`Koa example listening: curl ${server.url}/events`);
}
