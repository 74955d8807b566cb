// The server side of bench/http.ts, run in its own (pinned) process: `node --import tsx bench/http-server.ts <mode>`.
// mode "library": createEventsHandler over a memory bus; mode "bare": node:http that JSON.stringifies the same
// events per request. Both hold the same events and print one JSON line { port, eventId } once listening.
import { createServer, type RequestListener } from "node:http";
import { createEventsHandler } from "../src/http/node.js";
import { EventBus, memoryStorage } from "../src/index.js";
import { seedStore } from "./stores.js";

const STORED = Number(process.env.BENCH_HTTP_EVENTS ?? 10_000);
const LIMIT = 50;
const mode = process.argv[2];
if (mode !== "library" && mode !== "bare") throw new Error(`usage: http-server.ts library|bare, got ${mode}`);

const storage = memoryStorage();
const bus = new EventBus({ storage });
const ids = await seedStore(storage, STORED, 50);
const eventId = ids[Math.floor(ids.length / 2)] as string;

async function bareListener(): Promise<RequestListener> {
  // The floor: the same events, looked up once, serialised on every request (no routing, no validation).
  const page = await bus.listEvents({ limit: LIMIT });
  const event = await bus.getEvent(eventId);
  const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
  return (req, res) => {
    const body = req.url?.startsWith("/events?") ? { events: page, has_more: true } : event;
    res.writeHead(200, headers).end(JSON.stringify(body));
  };
}

const handler = createEventsHandler(bus);
const listener: RequestListener = mode === "library" ? (req, res) => void handler(req, res) : await bareListener();
const server = createServer({ keepAlive: true }, listener);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  console.log(JSON.stringify({ port, eventId }));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
