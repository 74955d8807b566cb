// Question: how many requests per second (and what p99 latency) do GET /events?limit=50 and GET /events/{id} get
// from createEventsHandler over a memory bus holding 10k events, next to a bare node:http server that
// JSON.stringifies the same events per request? Each server runs in its own process pinned to core 1 (taskset);
// this process, the load generator (autocannon), pins itself to core 0. Library and bare runs alternate and the
// medians are kept.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { quick, type ResultRow, report, summarize, type Timing } from "./harness.js";

const QUESTION = "http";
const ROUNDS = quick ? 3 : 5;
const SECONDS = quick ? 1 : 5;
const WARMUP_SECONDS = quick ? 1 : 3;
const CONNECTIONS = 10;
const MODES = ["library", "bare"] as const;
type Mode = (typeof MODES)[number];

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly eventId: string;
}

const pinned = pin(["-pc", "0", String(process.pid)]);

async function startServer(mode: Mode): Promise<Server> {
  const args = ["--import", "tsx", new URL("./http-server.ts", import.meta.url).pathname, mode];
  const child = pinned
    ? spawn("taskset", ["-c", "1", process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await once(lines, "line")) as [string];
  const { port, eventId } = JSON.parse(line) as { port: number; eventId: string };
  return { child, port, eventId };
}

interface Run {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
}

async function load(url: string, seconds: number): Promise<Run> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
  }
  return { requestsPerSecond: result.requests.total / result.duration, p99Ms: result.latency.p99 };
}

const servers = new Map<Mode, Server>();
for (const mode of MODES) servers.set(mode, await startServer(mode));
const routes = {
  list: (server: Server) => `http://127.0.0.1:${server.port}/events?limit=50`,
  item: (server: Server) => `http://127.0.0.1:${server.port}/events/${server.eventId}`,
};
type Route = keyof typeof routes;
const runs = new Map<string, Run[]>();
try {
  for (const mode of MODES) {
    for (const route of Object.keys(routes) as Route[]) {
      await load(routes[route](servers.get(mode) as Server), WARMUP_SECONDS);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which server goes first, so that drift of the machine hits both alike.
    const order = round % 2 === 0 ? MODES : [...MODES].reverse();
    for (const route of Object.keys(routes) as Route[]) {
      for (const mode of order) {
        const run = await load(routes[route](servers.get(mode) as Server), SECONDS);
        const key = `${mode} ${route}`;
        runs.set(key, [...(runs.get(key) ?? []), run]);
      }
    }
  }
} finally {
  for (const { child } of servers.values()) child.kill("SIGTERM");
}

/** Medians over rounds, as timings (µs per request) so that the usual formatting and ratios apply. */
function timing(key: string): { perRequest: Timing; p99: Timing } {
  const list = runs.get(key) ?? [];
  return {
    perRequest: summarize(
      key,
      list.map((run) => 1e6 / run.requestsPerSecond),
    ),
    p99: summarize(
      key,
      list.map((run) => run.p99Ms * 1000),
    ),
  };
}

const format = (perRequest: Timing) =>
  `${Math.round(perRequest.opsPerSecond).toLocaleString("en")} req/s (${Math.round(1e6 / perRequest.maxUs).toLocaleString("en")}-${Math.round(1e6 / perRequest.minUs).toLocaleString("en")})`;
// autocannon records latency in whole milliseconds: 0 means under one.
const formatP99 = (p99: Timing) => (p99.medianUs < 1000 ? "p99 < 1 ms" : `p99 ${Math.round(p99.medianUs / 1000)} ms`);

const rows: ResultRow[] = [];
const targets: Record<Route, number | undefined> = { list: 0.7, item: undefined };
const labels: Record<Route, string> = { list: "GET /events?limit=50", item: "GET /events/{id}" };
for (const route of Object.keys(routes) as Route[]) {
  const library = timing(`library ${route}`);
  const bare = timing(`bare ${route}`);
  const ratio = library.perRequest.opsPerSecond / bare.perRequest.opsPerSecond;
  const target = targets[route];
  rows.push({
    question: QUESTION,
    figure: `HTTP ${labels[route]}, createEventsHandler`,
    value: `${format(library.perRequest)}, ${formatP99(library.p99)}`,
    floor: "bare node:http + JSON.stringify per request",
    floorValue: `${format(bare.perRequest)}, ${formatP99(bare.p99)}`,
    ratio,
    target: target === undefined ? "none (information)" : `>= ${target}x`,
    met: target === undefined || ratio >= target,
    ...(target === undefined ? { informational: true } : {}),
  });
}
await report(QUESTION, rows, [
  `${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s after ${WARMUP_SECONDS} s warm-up per server and route; ` +
    `ratio = library req/s / bare req/s (medians); 10,000 events stored in memory`,
  pinned
    ? "servers pinned to core 1, load generator to core 0 (taskset)"
    : "taskset is unavailable: server and load generator are NOT pinned, figures are less stable",
]);

/** Runs taskset; false when it is missing (then nothing is pinned). */
function pin(args: readonly string[]): boolean {
  try {
    execFileSync("taskset", args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
