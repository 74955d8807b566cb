/**
 * `npm run demo`: runs the demo seller flow into the embedded store, then serves `/events` on port 8000 (`PORT`
 * overrides, `HOST` too) and prints curl commands with real ids.
 *
 * Store: SQLite at `.data/events.sqlite`, so events of earlier runs are still there; `--memory` keeps them in
 * this process only.
 */
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { EventBus, type EventStorage, memoryStorage } from "ad-seller-events";
import type { SqliteDatabase } from "ad-seller-events/sqlite";
import { type DemoRun, runDemoSellerFlow } from "./seller-flow.js";
import { startDemoServer } from "./server.js";

const SQLITE_FILE = ".data/events.sqlite";

const port = readPort(process.env.PORT);
const host = process.env.HOST ?? "127.0.0.1";
// Checked before anything is written: a busy port must not cost another run's worth of events in the store.
await checkPortFree(port, host);
const store = process.argv.includes("--memory") ? memoryStore() : await sqliteStore(SQLITE_FILE);
// The bus closes the store (and the store its SQLite connection) on shutdown.
const bus = new EventBus({ storage: store.storage, closeStorage: true });
const run = await runDemoSellerFlow(bus);
const server = await startDemoServer(bus, { port, host });
console.log(`Seller flow emitted ${run.eventIds.length} events into ${store.description}.`);
console.log(`Serving GET /events on ${server.url} (Ctrl+C stops)`);
console.log(`The events page: http://localhost:${server.port}/events/ui\n`);
console.log(curlCommands(`http://localhost:${server.port}`, run).join("\n"));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await server.close();
    await bus.close();
    process.exit(0);
  });
}

interface DemoStore {
  readonly storage: EventStorage;
  readonly description: string;
}

function memoryStore(): DemoStore {
  return { storage: memoryStorage(), description: "memory (--memory: gone when the demo stops)" };
}

async function sqliteStore(file: string): Promise<DemoStore> {
  // Loaded only here, so `--memory` runs without the SQLite driver.
  const { sqliteStorage } = await import("ad-seller-events/sqlite");
  mkdirSync(".data", { recursive: true });
  const { database, driver } = await openSqlite(file);
  return {
    storage: sqliteStorage({ database, closeDatabase: true }),
    description: `SQLite ${file} via ${driver} (kept across runs; --memory opts out)`,
  };
}

/**
 * better-sqlite3 when its native addon loads; otherwise Node's built-in `node:sqlite` (Node >= 22.13), so the demo
 * also runs where the addon was built for another Node version.
 */
async function openSqlite(file: string): Promise<{ database: SqliteDatabase; driver: string }> {
  try {
    const { default: Database } = await import("better-sqlite3");
    return { database: new Database(file), driver: "better-sqlite3" };
  } catch (addonError) {
    try {
      // A variable specifier: Node 20's type definitions have no node:sqlite module.
      const builtin = "node:sqlite";
      const { DatabaseSync } = (await import(builtin)) as { DatabaseSync: new (path: string) => SqliteDatabase };
      return { database: new DatabaseSync(file), driver: "node:sqlite" };
    } catch {
      throw addonError;
    }
  }
}

function curlCommands(base: string, run: DemoRun): string[] {
  const [sessionId = ""] = run.sessionIds;
  const [dealId = ""] = run.dealIds;
  const eventId = run.eventIds[0] ?? "";
  const lastId = run.eventIds.at(-1) ?? "";
  return [
    "# the newest negotiation rounds",
    `curl '${base}/events?event_type=negotiation.round&limit=10'`,
    "# everything in one buyer session",
    `curl '${base}/events?session_id=${sessionId}'`,
    "# one event",
    `curl ${base}/events/${eventId}`,
    "# one deal's lifecycle, two event types",
    `curl '${base}/events?deal_id=${dealId}&event_type=deal.created,deal.synced'`,
    "# page back from the newest event",
    `curl '${base}/events?limit=5&before=${lastId}'`,
    "# a bad query: 400 problem+json naming the parameter",
    `curl -i '${base}/events?limit=5000'`,
  ];
}

/** Exits with a one-line hint when `port` is taken (or cannot be bound), instead of a raw EADDRINUSE stack. */
async function checkPortFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    probe.once("error", resolve);
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
  if (failure === undefined) return;
  const why =
    failure.code === "EADDRINUSE" ? "is in use (another demo or server?)" : `cannot be used (${failure.code})`;
  console.error(`Port ${port} on ${host} ${why}; nothing was written. Choose another: PORT=9000 npm run demo`);
  process.exit(1);
}

function readPort(value: string | undefined): number {
  if (value === undefined || value === "") return 8000;
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value) || parsed > 65_535) {
    console.error(`PORT must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
    process.exit(1);
  }
  return parsed;
}
