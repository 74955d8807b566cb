// Child process of bench/postgres-fleet.ts: one writer process of the fleet.
// argv: mode ("adapter" | "raw" | "slow" | "paced"), table, duration in ms, in flight (paced: emits per second),
// pool size. adapter: emitEvent through postgresStorage; raw: single-row INSERTs with no ordering into a table of
// the same shape (the floor); slow: one business transaction after another, each holding an emitted event 500 ms;
// paced: emitEvent at a fixed rate, not waiting for earlier emits.
// Waits for a line on stdin (so that every writer starts together), then prints {"count", "p99Ms"}.
import pg from "pg";
import { EventBus } from "../src/index.js";
import { postgresStorage } from "../src/storage/postgres/index.js";
import { PG_URL, payloadFor, ROW_COLUMNS, rowValues, typicalEvent } from "./stores.js";

const [mode, table, durationText, inFlightText, poolText] = process.argv.slice(2) as string[];
const inFlight = Number(inFlightText);
const pool = new pg.Pool({ connectionString: PG_URL, max: Number(poolText) });
pool.on("error", () => undefined);
const storage = postgresStorage({ pool, table });
const bus = new EventBus({ storage });
const placeholders = Array.from({ length: 10 }, (_, index) => `$${index + 1}`).join(", ");
const raw = { name: `raw_${table}`, text: `INSERT INTO ${table}_raw (${ROW_COLUMNS}) VALUES (${placeholders})` };
let counter = process.pid * 1_000_000;

const writeOne: () => Promise<unknown> =
  mode === "raw"
    ? () => pool.query({ ...raw, values: rowValues(typicalEvent(counter++)) })
    : mode === "adapter" || mode === "paced"
      ? () => bus.emitEvent({ event_type: "negotiation.round", session_id: "s-1", payload: payloadFor(counter++) })
      : async () => {
          const client = await pool.connect();
          try {
            await client.query("BEGIN");
            await bus.emitEvent({ event_type: "deal.created", deal_id: "slow" }, { transaction: client });
            await new Promise((resolve) => setTimeout(resolve, 500));
            await client.query("COMMIT");
          } finally {
            client.release();
          }
        };

if (mode !== "raw") await bus.listEvents({ limit: 1 }); // takes part in the table before the clock starts
if (mode !== "slow") {
  // Opens the pool's connections and warms the code path before the clock starts: otherwise the first emits of a
  // 2 s round (a connection each, cold code) are its p99, whatever the store does.
  const warming = Math.min(Number(poolText), 16);
  for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: warming }, () => writeOne()));
}
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
process.stdin.pause();
const latencies: number[] = [];
const stopAt = performance.now() + Number(durationText);
const timed = async () => {
  const began = performance.now();
  await writeOne();
  latencies.push(performance.now() - began);
};
if (mode === "paced") {
  // An open loop: one emit every 1000 / rate ms whatever the earlier ones are doing (a seller desk's traffic does
  // not wait for the store), so the latencies are the store's at that rate, not a queue the writer builds itself.
  const gapMs = 1000 / inFlight;
  const pending: Promise<void>[] = [];
  for (let next = performance.now(); next < stopAt; next += gapMs) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(timed());
  }
  await Promise.all(pending);
} else {
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < stopAt) await timed();
    }),
  );
}
latencies.sort((a, b) => a - b);
const p99Ms = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
process.stdout.write(`${JSON.stringify({ count: latencies.length, p99Ms })}\n`);
await bus.close();
await storage.close();
await pool.end();
