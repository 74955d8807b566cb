// The server side of bench/http-stores.ts: `node --import tsx bench/http-store-server.ts <store> <mode>`.
// mode "library": createEventsHandler over a bus on the store; mode "bare": a hand-written route that does one query
// on the same store and JSON.stringifies the rows per request (no validation, no freezing). Prints { port } once
// listening; seeds 10,000 events first.
import { createServer, type RequestListener } from "node:http";
import { createEventsHandler } from "../src/http/node.js";
import { EventBus } from "../src/index.js";
import { memoryStore, postgresStore, redisStore, seedStore, sqliteStore } from "./stores.js";

const STORED = 10_000;
const [storeName, mode] = process.argv.slice(2);
const headers = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };
const COLUMNS =
  'event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload, metadata';

/** The hand-written routes read the newest `limit` events (the query string's, as the library's route does). */
type BareRead = (limit: number) => Promise<unknown[]>;

async function open(): Promise<{ bus: EventBus; bare: BareRead; dispose: () => Promise<void> }> {
  if (storeName === "memory") {
    const store = memoryStore();
    await seedStore(store.storage, STORED, 50);
    const bus = new EventBus({ storage: store.storage });
    const all = await bus.listEvents({ limit: 1000 });
    return { bus, bare: async (limit) => all.slice(-limit), dispose: store.dispose };
  }
  if (storeName === "sqlite") {
    const store = sqliteStore();
    await seedStore(store.storage, STORED, 50);
    const statement = store.database.prepare(`SELECT ${COLUMNS} FROM events ORDER BY seq DESC LIMIT ?`);
    const bare = async (limit: number) =>
      (statement.all(limit) as Record<string, string>[])
        .map((row) => ({
          ...row,
          payload: JSON.parse(row.payload as string),
          metadata: JSON.parse(row.metadata as string),
        }))
        .reverse();
    return { bus: new EventBus({ storage: store.storage }), bare, dispose: store.dispose };
  }
  if (storeName === "postgres") {
    const store = postgresStore();
    await seedStore(store.storage, STORED, 50);
    const sql = `SELECT event_id, event_type, "timestamp", flow_id, flow_type, proposal_id, deal_id, session_id, payload, metadata FROM public.${store.table} ORDER BY seq DESC LIMIT $1`;
    const bare = async (limit: number) => (await store.pool.query(sql, [limit])).rows.reverse();
    return { bus: new EventBus({ storage: store.storage }), bare, dispose: store.dispose };
  }
  if (storeName === "redis") {
    const store = redisStore();
    await seedStore(store.storage, STORED, 50);
    const log = `${store.prefix}eventlog:all`;
    const bare = async (limit: number) => {
      const ids = await store.client.zrevrange(log, 0, limit - 1);
      const texts = await store.client.mget(ids.map((id) => `${store.prefix}event:${id}`));
      return texts.map((text) => JSON.parse(text as string)).reverse();
    };
    return { bus: new EventBus({ storage: store.storage }), bare, dispose: store.dispose };
  }
  throw new Error(`usage: http-store-server.ts memory|sqlite|postgres|redis library|bare, got ${storeName}`);
}

const { bus, bare, dispose } = await open();
const handler = createEventsHandler(bus);
const listener: RequestListener =
  mode === "library"
    ? (req, res) => void handler(req, res)
    : (req, res) => {
        bare(Number(new URL(req.url ?? "/", "http://bench").searchParams.get("limit") ?? 50)).then(
          (events) => res.writeHead(200, headers).end(JSON.stringify({ events, has_more: true })),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      };
const server = createServer({ keepAlive: true }, listener);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address !== null ? address.port : 0 }));
});
process.on("SIGTERM", () => server.close(() => void dispose().finally(() => process.exit(0))));
