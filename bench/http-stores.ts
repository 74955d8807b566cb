// Question: does GET /events?limit=50 on each store beat a hand-written route on the same store that does one query
// and JSON.stringify (goal: at least 2x)? The library serves stored JSON text where the store can hand it over.
// Servers run in their own process (pinned to core 1 when taskset exists), autocannon here; modes alternate.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { quick, type ResultRow, report, summarize } from "./harness.js";
import { postgresUnreachable, redisUnreachable } from "./stores.js";

const ROUNDS = quick ? 4 : 5;
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

/** User + system CPU time of a process in µs, from /proc (Linux); undefined elsewhere. */
function cpuMicros(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return undefined;
  const fields = (readFileSync(file, "utf8").split(") ")[1] as string).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}
const TICKS_PER_SECOND = 100;

/**
 * What the clients ask: all the same newest page, or (PostgreSQL) pages of 20 different sizes in turn, so that two
 * reads in flight almost never match and none shares a statement with another (the adapter runs identical reads that
 * arrive while one is in flight as one statement; see docs/decisions.md).
 */
type Pattern = "same" | "distinct";
const PATTERNS: Record<string, readonly Pattern[]> = { postgres: ["same", "distinct"] };
const DISTINCT_LIMITS = 20;

/** Requests per second, and the server's CPU time per request (what the route costs, whoever else is busy). */
async function measureServer(server: { child: ChildProcess; port: number }, seconds: number, pattern: Pattern) {
  const before = cpuMicros(server.child.pid);
  const { rate, total } = await requestsPerSecond(server.port, seconds, pattern);
  const after = cpuMicros(server.child.pid);
  const cpu = before === undefined || after === undefined ? undefined : (after - before) / total;
  return { rate, cpu };
}

async function requestsPerSecond(
  port: number,
  seconds: number,
  pattern: Pattern = "same",
): Promise<{ rate: number; total: number }> {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/events?limit=50`,
    connections: 10,
    duration: seconds,
    ...(pattern === "distinct"
      ? {
          requests: [
            {
              method: "GET",
              setupRequest: (request: { path: string }) => ({
                ...request,
                path: `/events?limit=${51 - DISTINCT_LIMITS + (next++ % DISTINCT_LIMITS)}`,
              }),
            },
          ],
        }
      : {}),
  });
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(`port ${port}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  return { rate: result.requests.total / result.duration, total: result.requests.total };
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
    for (const pattern of PATTERNS[store] ?? ["same"]) {
      const path =
        pattern === "same" ? "/events?limit=50" : `/events?limit=${51 - DISTINCT_LIMITS}..50 in turn (nothing shared)`;
      const rates = new Map<string, number[]>(MODES.map((mode) => [mode, []]));
      const cpu = new Map<string, number[]>(MODES.map((mode) => [mode, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
          const server = servers.get(mode) as { child: ChildProcess; port: number };
          const measured = await measureServer(server, SECONDS, pattern);
          rates.get(mode)?.push(1e6 / measured.rate);
          if (measured.cpu !== undefined) cpu.get(mode)?.push(measured.cpu);
        }
      }
      const library = summarize("library", rates.get("library") ?? []);
      const bare = summarize("bare", rates.get("bare") ?? []);
      const ratio = library.opsPerSecond / bare.opsPerSecond;
      rows.push({
        question: "http-stores",
        figure: `${store}: GET ${path}, createEventsHandler`,
        value: `${Math.round(library.opsPerSecond).toLocaleString("en")} req/s`,
        floor: "hand-written route: one query + JSON.stringify, same store",
        floorValue: `${Math.round(bare.opsPerSecond).toLocaleString("en")} req/s`,
        ratio,
        target: ">= 2x",
        met: ratio >= 2,
      });
      const libraryCpu = cpu.get("library") ?? [];
      const bareCpu = cpu.get("bare") ?? [];
      if (libraryCpu.length > 0 && bareCpu.length > 0) {
        const libraryMedian = summarize("library", libraryCpu).medianUs;
        const bareMedian = summarize("bare", bareCpu).medianUs;
        rows.push({
          question: "http-stores",
          figure: `${store}: server CPU per GET ${path}, createEventsHandler`,
          value: `${libraryMedian.toFixed(0)} µs`,
          floor: "hand-written route, same store",
          floorValue: `${bareMedian.toFixed(0)} µs`,
          ratio: bareMedian / libraryMedian,
          target: ">= 2x",
          met: bareMedian / libraryMedian >= 2,
        });
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill("SIGTERM");
  }
}
await report("http-stores", rows, [
  ...notes,
  `postgres also with ${DISTINCT_LIMITS} different pages in turn (limit=${51 - DISTINCT_LIMITS}..50): no read shares a statement, what each read costs alone`,
  `10 connections, ${ROUNDS} alternating rounds of ${SECONDS} s after 1 s warm-up; 10,000 events stored; ratio = library req/s / hand-written req/s`,
  pinned ? "servers pinned to core 1 (taskset)" : "taskset unavailable: nothing pinned",
  "server CPU = user + system time of the server process (/proc) over the requests it answered, median over rounds; ratio = hand-written / library (the load generator's own limit does not cap it)",
]);

function pin(): boolean {
  try {
    execFileSync("taskset", ["-pc", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
