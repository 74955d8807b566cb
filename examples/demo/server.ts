import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventBus } from "ad-seller-events";
import { createEventsHandler } from "ad-seller-events/http";

/** A running demo server. */
export interface DemoServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

/**
 * Serves `GET /events`, `GET /events/{event_id}` and the events page at `GET /events/ui` for `bus` with plain
 * `node:http`.
 *
 * @example
 * ```ts
 * const server = await startDemoServer(bus, { port: 0 });
 * await fetch(`${server.url}/events?limit=10`);
 * await server.close();
 * ```
 */
export function startDemoServer(bus: EventBus, options: { port?: number; host?: string } = {}): Promise<DemoServer> {
  const handler = createEventsHandler(bus, { viewer: true });
  const server = createServer((req, res) => handler(req, res));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8000, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      const { address, family, port } = server.address() as AddressInfo;
      const host = family === "IPv6" ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
