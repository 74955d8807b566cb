/**
 * `/events` on a bare `node:http` server. Run: `npx tsx examples/node-http/server.ts` (PORT, default 3000).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { EventBus, EventType } from "ad-seller-events";
import { createEventsHandler } from "ad-seller-events/http";

/** A started example server. */
export interface ExampleServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts a `node:http` server whose only routes are `GET /events` and `GET /events/{event_id}`; any other path
 * gets the handler's 404 problem document, because no `next` is passed.
 *
 * @example
 * ```ts
 * const server = await startNodeHttpServer(new EventBus(), { port: 0 });
 * ```
 */
export async function startNodeHttpServer(
  bus: EventBus,
  { port = 3000, host = "127.0.0.1" }: { port?: number; host?: string } = {},
): Promise<ExampleServer> {
  const events = createEventsHandler(bus);
  const server = createServer((req, res) => events(req, res));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bus = new EventBus();
  await bus.emitEvent({ event_type: EventType.SESSION_CREATED, session_id: crypto.randomUUID() });
  const server = await startNodeHttpServer(bus, { port: Number(process.env.PORT ?? 3000) });
  console.log(`node:http example listening: curl ${server.url}/events`);
}
