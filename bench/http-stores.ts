// Question: does GET /events?limit=50 on each store beat a hand-written route on the same store that does one query
// and JSON.stringify (goal: at least 2x)? The library serves stored JSON text where the store can hand it over.
// Servers run in their own process (pinned to core 1 when taskset exists), autocannon here; modes alternate.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { quick, type ResultRow, report, summarize } from "./harness.js";
import { postgresUnreachable, redisUnreachable } from "./stores.js";

const ROUNDS = quick ? 2 : 5;
const SECONDS = quick ? 1 : 4;
const MODES = ["library", "bare"] as const;
const pinned = pin();

async function start(store: string, mode: string): Promise<{ child: ChildProcess; port: number }> {
  const args = ["--import", "tsx", new URL("./http-store-server.ts", import.meta.url).pathname, store, mode];
  const child = pinned
    ? spawn("taskset", ["-c", "1", process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), "line")) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function requestsPerSecond(port: number, seconds: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/events?limit=50`,
    connections: 10,
    duration: seconds,
  });
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(`port ${port}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return result.requests.total / result.duration;
}

const rows: ResultRow[] = [];
const notes: string[] = [];
const unreachable: Record<string, string | undefined> = {
  postgres: await postgresUnreachable(),
  redis: await redisUnreachable(),
};
for (const store of ["memory", "sqlite", "postgres", "redis"]) {
  if (unreachable[store] !== undefined) {
    notes.push(`${store} skipped: ${unreachable[store]}`);
    continue;
  }
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  try {
    for (const mode of MODES) servers.set(mode, await start(store, mode));
    for (const mode of MODES) await requestsPerSecond(servers.get(mode)?.port as number, 1); // warm-up
    const rates = new Map<string, number[]>(MODES.map((mode) => [mode, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
        rates.get(mode)?.push(1e6 / (await requestsPerSecond(servers.get(mode)?.port as number, SECONDS)));
      }
    }
    const library = summarize("library", rates.get("library") ?? []);
    const bare = summarize("bare", rates.get("bare") ?? []);
    const ratio = library.opsPerSecond / bare.opsPerSecond;
    rows.push({
      question: "http-stores",
      figure: `${store}: GET /events?limit=50, createEventsHandler`,
      value: `${Math.round(library.opsPerSecond).toLocaleString("en")} req/s`,
      floor: "hand-written route: one query + JSON.stringify, same store",
      floorValue: `${Math.round(bare.opsPerSecond).toLocaleString("en")} req/s`,
      ratio,
      target: ">= 2x",
      met: ratio >= 2,
    });
  } finally {
    for (const { child } of servers.values()) child.kill("SIGTERM");
  }
}
await report("http-stores", rows, [
  ...notes,
  `10 connections, ${ROUNDS} alternating rounds of ${SECONDS} s after 1 s warm-up; 10,000 events stored; ratio = library req/s / hand-written req/s`,
  pinned ? "servers pinned to core 1 (taskset)" : "taskset unavailable: nothing pinned",
]);

function pin(): boolean {
  try {
    execFileSync("taskset", ["-pc", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
