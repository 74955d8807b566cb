/**
 * `/api/events` in an Express 5 app, behind an optional API key. Run: `npx tsx examples/express/server.ts`
 * (PORT, default 3000; set EVENTS_API_KEY to require an `x-api-key` header).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { EventBus, EventType } from "ad-seller-events";
import { createEventsHandler } from "ad-seller-events/http";
import express, { type Express } from "express";
import { apiKeyAuthorizer } from "../api-key.js";

/**
 * The app: its own routes plus the events routes mounted under `/api`. Express strips the mount prefix from
 * `req.url`, so the handler's default `basePath` (`/events`) serves `/api/events`.
 *
 * @example
 * ```ts
 * createServer(createExpressApp(bus, { apiKey: "s3cret" })).listen(3000);
 * ```
 */
export function createExpressApp(bus: EventBus, options: { apiKey?: string | undefined } = {}): Express {
  const { apiKey } = options;
  const app = express();
  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.use(
    "/api",
    createEventsHandler(bus, {
      // No key configured means no check at all in this demo; a configured key is compared in constant time, and an
      // empty one refuses everything (see examples/api-key.ts).
      authorize: apiKey === undefined ? undefined : apiKeyAuthorizer(apiKey),
      onError: (error) => console.error("events endpoint failed", error),
    }),
  );
  return app;
}

/**
 * Starts the Express example on `port` (0 picks a free one).
 *
 * @example
 * ```ts
 * const server = await startExpressServer(bus, { port: 0, apiKey: "s3cret" });
 * ```
 */
export async function startExpressServer(
  bus: EventBus,
  { port = 3000, host = "127.0.0.1", apiKey }: { port?: number; host?: string; apiKey?: string | undefined } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(createExpressApp(bus, { apiKey }));
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bus = new EventBus();
  await bus.emitEvent({ event_type: EventType.DEAL_CREATED, deal_id: "deal-1", payload: { cpm: 12 } });
  const apiKey = process.env.EVENTS_API_KEY;
  const server = await startExpressServer(bus, { port: Number(process.env.PORT ?? 3000), apiKey });
  const header = apiKey === undefined ? "" : " -H 'x-api-key: $EVENTS_API_KEY'";
  console.log(`Express example listening: curl${header} ${server.url}/api/events`);
}
