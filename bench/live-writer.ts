// Child process of bench/live.ts: emits events at a steady rate into a shared store, each stamped with the wall
// time it was sent. argv: kind (sqlite | postgres | redis), location (file or URL), table or prefix, events/s, count.
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import pg from "pg";
import { EventBus, type EventStorage } from "../src/index.js";
import { postgresStorage } from "../src/storage/postgres/index.js";
import { redisStorage } from "../src/storage/redis/index.js";
import { sqliteStorage } from "../src/storage/sqlite/index.js";

const [kind, location, name, rateText, countText] = process.argv.slice(2) as [string, string, string, string, string];
const storage: EventStorage =
  kind === "sqlite"
    ? sqliteStorage({ database: new Database(location), closeDatabase: true })
    : kind === "postgres"
      ? postgresStorage({ pool: new pg.Pool({ connectionString: location, max: 4 }), table: name, closePool: true })
      : redisStorage({ client: new Redis(location), prefix: name, closeClient: true });
const bus = new EventBus({ storage, closeStorage: true });
await bus.emitEvent({ event_type: "session.created", session_id: "warm-up" });
process.stdout.write("ready\n");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
process.stdin.destroy(); // an open stdin would keep this process alive after the last event
const rate = Number(rateText);
const count = Number(countText);
const began = performance.now();
const pending: Promise<unknown>[] = [];
for (let index = 0; index < count; index++) {
  const due = began + (index * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  pending.push(
    bus.emitEvent({
      event_type: "negotiation.round",
      payload: { index, sent: performance.timeOrigin + performance.now() },
    }),
  );
}
await Promise.all(pending);
process.stdout.write("done\n");
await bus.close();
