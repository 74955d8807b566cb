// Part of bench/live.ts: emit in a writer process -> yield by a tail in this one, at a steady rate, per store.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import pg from "pg";
import { EventBus, type EventStorage } from "../src/index.js";
import { postgresStorage } from "../src/storage/postgres/index.js";
import { redisStorage } from "../src/storage/redis/index.js";
import { sqliteStorage } from "../src/storage/sqlite/index.js";
import { quick, type ResultRow } from "./harness.js";
import { PG_URL, postgresUnreachable, REDIS_URL, redisUnreachable } from "./stores.js";

const QUESTION = "live";
const RATE = 500;
const DELIVERY_EVENTS = quick ? 750 : 2500;
const GOAL_P99_MS = 50;

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}

function latencyRow(figure: string, latencies: number[]): ResultRow {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  return {
    question: QUESTION,
    figure,
    value: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${sorted.length} events)`,
    floor: "goal",
    floorValue: `p99 ${GOAL_P99_MS} ms`,
    ratio: GOAL_P99_MS / p99,
    target: `p99 <= ${GOAL_P99_MS} ms`,
    met: p99 <= GOAL_P99_MS,
  };
}

interface Target {
  readonly kind: "sqlite" | "postgres" | "redis";
  readonly location: string;
  readonly name: string;
  open(): { storage: EventStorage; dispose: () => Promise<void> };
}

function targets(folder: string, notes: string[], pgReason?: string, redisReason?: string): Target[] {
  const list: Target[] = [];
  const file = join(folder, "live.sqlite");
  list.push({
    kind: "sqlite",
    location: file,
    name: "",
    open: () => {
      const storage = sqliteStorage({ database: new Database(file), closeDatabase: true });
      return { storage, dispose: () => storage.close() };
    },
  });
  if (pgReason === undefined) {
    const table = `bench_live_${process.pid}`;
    list.push({
      kind: "postgres",
      location: PG_URL,
      name: table,
      open: () => {
        const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
        const storage = postgresStorage({ pool, table });
        return {
          storage,
          dispose: async () => {
            await storage.close();
            await pool.query(`DROP TABLE IF EXISTS public.${table}`);
            await pool.end();
          },
        };
      },
    });
  } else notes.push(`postgres delivery skipped: ${pgReason}`);
  if (redisReason === undefined) {
    const prefix = `bench:live:${process.pid}:`;
    list.push({
      kind: "redis",
      location: REDIS_URL,
      name: prefix,
      open: () => {
        const client = new Redis(REDIS_URL);
        const storage = redisStorage({ client, prefix });
        return {
          storage,
          dispose: async () => {
            await storage.close();
            const keys = await client.keys(`${prefix}*`);
            if (keys.length > 0) await client.unlink(...keys);
            client.disconnect();
          },
        };
      },
    });
  } else notes.push(`redis delivery skipped: ${redisReason}`);
  return list;
}

function writerProcess(target: Target): { child: ChildProcess; printed: (line: string) => Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "live-writer.ts"),
      target.kind,
      target.location,
      target.name,
      String(RATE),
      String(DELIVERY_EVENTS),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const printed = (line: string) =>
    new Promise<void>((resolve) => {
      const check = () => (output.includes(`${line}\n`) ? resolve() : setTimeout(check, 5));
      check();
    });
  return { child, printed };
}

/** A writer process emits at RATE events/s; this process tails and times each event from send to yield. */
async function deliveryLatency(target: Target): Promise<number[]> {
  const { storage, dispose } = target.open();
  const bus = new EventBus({ storage });
  await bus.emitEvent({ event_type: "session.created" }); // creates the table
  const writer = writerProcess(target);
  await writer.printed("ready");
  const controller = new AbortController();
  const tail = bus.tail({ event_type: "negotiation.round" }, { signal: controller.signal });
  const latencies: number[] = [];
  const collecting = (async () => {
    for await (const event of tail) {
      latencies.push(performance.timeOrigin + performance.now() - (event.payload.sent as number));
      if (latencies.length === DELIVERY_EVENTS) break;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300)); // the tail's reader and its watch are in place
  writer.child.stdin?.write("go\n");
  await collecting;
  await writer.printed("done");
  await new Promise((resolve) => writer.child.once("exit", resolve));
  await bus.close();
  await dispose();
  return latencies;
}

/** One latency row per reachable durable store. */
export async function deliveryRows(notes: string[]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const folder = mkdtempSync(join(tmpdir(), "ase-live-bench-"));
  try {
    for (const target of targets(folder, notes, await postgresUnreachable(), await redisUnreachable())) {
      const latencies = await deliveryLatency(target);
      rows.push(latencyRow(`${target.kind}: emit in another process -> tail, at ${RATE}/s`, latencies));
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return rows;
}
