// Question: does a fleet of PostgreSQL writer processes write as fast through the adapter (post-commit sequencer)
// as raw single-row INSERTs with no ordering into a table of the same shape; does one writer holding its transaction
// 500 ms slow the others or the tail; and what does an emit inside a business transaction add to it?
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type Event, EventBus } from "../src/index.js";
import { postgresSchemaSql, postgresStorage } from "../src/storage/postgres/index.js";
import { quick, type ResultRow, report, skip } from "./harness.js";
import { PG_URL, postgresUnreachable } from "./stores.js";

/** Reported under another name (and with a note) when bench/postgres-commit-delay.ts runs it on its own server. */
const QUESTION = process.env.BENCH_QUESTION ?? "postgres-fleet";
const DURATION_MS = quick ? 2000 : 6000;
const IN_FLIGHT = 16;
/** Connections the fleet may use in all: the server's 100 are shared with other work on this machine. */
const FLEET_CONNECTIONS = 60;
const TRANSACTIONS = quick ? 100 : 400;
const SLOW_WRITER_ROUNDS = quick ? 3 : 5;
/** Emits per second of each paced writer: 1,000 a second in all, a busy seller desk's rate and well within reach. */
const PACED_RATE = 250;

const unreachable = await postgresUnreachable();
if (unreachable !== undefined) {
  await skip(QUESTION, unreachable);
  process.exit(0);
}

const root = fileURLToPath(new URL("..", import.meta.url));
const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
pool.on("error", () => undefined);
const tables: string[] = [];

async function freshTable(): Promise<string> {
  const table = `bench_fleet_${process.pid}_${tables.length}`;
  tables.push(table, `${table}_raw`);
  await postgresStorage({ pool, table }).ensureSchema();
  await pool.query(postgresSchemaSql({ table: `${table}_raw` }));
  return table;
}

interface WriterResult {
  readonly count: number;
  readonly p99Ms: number;
}

function startWriter(
  mode: string,
  table: string,
  inFlight: number,
  poolSize: number,
): { child: ChildProcess; done: Promise<WriterResult> } {
  const args = [mode, table, String(DURATION_MS), String(inFlight), String(poolSize)];
  const child = spawn(process.execPath, ["--import", "tsx", "bench/postgres-fleet-writer.ts", ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const done = new Promise<WriterResult>((resolve, reject) => {
    child.once("exit", (code) => {
      const line = output.trim().split("\n").at(-1) ?? "";
      if (code === 0) resolve(JSON.parse(line) as WriterResult);
      else reject(new Error(`fleet writer exited with ${code}`));
    });
  });
  return { child, done };
}

/** Starts every writer, waits until each is ready, starts them together; resolves with their results. */
async function runFleet(writers: readonly { mode: string; inFlight: number }[], table: string) {
  // The same pool size for adapter and raw writers: raw ones share it among their 16 in flight.
  const poolSize = Math.min(IN_FLIGHT, Math.floor(FLEET_CONNECTIONS / writers.length) - 1);
  const started = writers.map((writer) => startWriter(writer.mode, table, writer.inFlight, poolSize));
  await Promise.all(
    started.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          const onData = (chunk: Buffer | string) => {
            if (String(chunk).includes("ready")) {
              child.stdout?.off("data", onData);
              resolve();
            }
          };
          child.stdout?.on("data", onData);
        }),
    ),
  );
  for (const { child } of started) child.stdin?.write("go\n");
  return Promise.all(started.map(({ done }) => done));
}

/** Follows the table by `after` every 5 ms while `running()`, recording how long after its emit each event showed. */
async function tailLags(table: string, running: () => boolean): Promise<number[]> {
  const tailPool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const bus = new EventBus({ storage: postgresStorage({ pool: tailPool, table }) });
  const lags: number[] = [];
  let cursor = (await bus.listEvents({ limit: 1 })).at(-1)?.event_id;
  while (running()) {
    const page: Event[] = await bus.listEvents(cursor === undefined ? { limit: 1000 } : { after: cursor, limit: 1000 });
    const now = Date.now();
    for (const event of page) if (event.deal_id !== "slow") lags.push(now - Date.parse(event.timestamp));
    cursor = page.at(-1)?.event_id ?? cursor;
    if (page.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await bus.close();
  await tailPool.end();
  return lags.sort((a, b) => a - b);
}

const perSecond = (results: readonly WriterResult[]) =>
  results.reduce((sum, result) => sum + result.count, 0) / (DURATION_MS / 1000);
const worstP99 = (results: readonly WriterResult[]) => Math.max(...results.map((result) => result.p99Ms));
const fixed = (value: number) => value.toFixed(value >= 100 ? 0 : 1);
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const rows: ResultRow[] = [];
for (const processes of [4, 8]) {
  const table = await freshTable();
  const fleet = Array.from({ length: processes }, () => ({ mode: "adapter", inFlight: IN_FLIGHT }));
  const adapter = perSecond(await runFleet(fleet, table));
  const raw = perSecond(
    await runFleet(
      fleet.map(() => ({ mode: "raw", inFlight: IN_FLIGHT })),
      table,
    ),
  );
  const ratio = adapter / raw;
  rows.push({
    question: QUESTION,
    figure: `${processes} processes x ${IN_FLIGHT} in flight, emitEvent`,
    value: `${fixed(adapter)} events/s`,
    floor: "raw single-row INSERT, no ordering",
    floorValue: `${fixed(raw)} rows/s`,
    ratio,
    target: ">= 0.9x",
    met: ratio >= 0.9,
  });
}

/**
 * One writer holds each business transaction (with its emitted event) open 500 ms beside 4 writer processes. The
 * fleet runs without it and with it in alternating rounds (medians kept): one round's p99 on 2 shared cores moves by
 * more than the effect in question. Run twice: with the 4 writers paced at a rate the machine keeps up with (the
 * targets), and with them saturating it, 16 emits in flight each (information: every p99 there is queueing).
 */
async function slowWriterRows(label: string, writer: { mode: string; inFlight: number }, targeted: boolean) {
  const table = await freshTable();
  const fleet = Array.from({ length: 4 }, () => writer);
  const calmP99s: number[] = [];
  const slowedP99s: number[] = [];
  const tailP99s: number[] = [];
  for (let round = 0; round < SLOW_WRITER_ROUNDS; round++) {
    calmP99s.push(worstP99(await runFleet(fleet, table)));
    let running = true;
    const lags = tailLags(table, () => running);
    const slowed = await runFleet([...fleet, { mode: "slow", inFlight: 1 }], table);
    running = false;
    const tail = await lags;
    slowedP99s.push(worstP99(slowed.slice(0, 4)));
    tailP99s.push(tail[Math.min(tail.length - 1, Math.floor(tail.length * 0.99))] ?? 0);
  }
  const calm = median(calmP99s);
  const others = median(slowedP99s);
  const tailP99 = median(tailP99s);
  const spread = (values: readonly number[]) => values.map(fixed).join(", ");
  rows.push(
    {
      question: QUESTION,
      figure: `${label}: other writers' p99 emit latency beside a 500 ms transaction`,
      value: `${fixed(others)} ms (rounds: ${spread(slowedP99s)})`,
      floor: "the same fleet without it",
      floorValue: `${fixed(calm)} ms (rounds: ${spread(calmP99s)})`,
      ratio: calm / others,
      target: ">= 0.5x (p99 within 2x)",
      met: calm / others >= 0.5,
      informational: !targeted,
    },
    {
      question: QUESTION,
      figure: `${label}: tail p99 lag (emit to seen, tailing every 5 ms) beside it`,
      value: `${fixed(tailP99)} ms (rounds: ${spread(tailP99s)})`,
      floor: "goal",
      floorValue: "50 ms",
      ratio: 50 / Math.max(tailP99, 1),
      target: ">= 1x (<= 50 ms)",
      met: tailP99 <= 50,
      informational: !targeted,
    },
  );
}

await slowWriterRows(`4 processes x ${PACED_RATE} emits/s`, { mode: "paced", inFlight: PACED_RATE }, true);
await slowWriterRows(
  `4 processes x ${IN_FLIGHT} in flight (saturated)`,
  { mode: "adapter", inFlight: IN_FLIGHT },
  false,
);

// An emit inside a business transaction: BEGIN, save the deal, (emit), COMMIT; one after another.
{
  const table = await freshTable();
  const deals = `${table}_deals`;
  tables.push(deals);
  await pool.query(`CREATE TABLE ${deals} (id bigint PRIMARY KEY)`);
  const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
  await bus.listEvents({ limit: 1 });
  let id = 0;
  const business = async (emit: boolean) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`INSERT INTO ${deals} (id) VALUES ($1)`, [++id]);
      if (emit) await bus.emitEvent({ event_type: "deal.created", deal_id: String(id) }, { transaction: client });
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  };
  const timed = async (emit: boolean) => {
    const began = performance.now();
    for (let index = 0; index < TRANSACTIONS; index++) await business(emit);
    return ((performance.now() - began) * 1000) / TRANSACTIONS;
  };
  await timed(true); // warm both paths
  const withoutRounds: number[] = [];
  const withRounds: number[] = [];
  for (let round = 0; round < SLOW_WRITER_ROUNDS; round++) {
    withoutRounds.push(await timed(false));
    withRounds.push(await timed(true));
  }
  const without = median(withoutRounds);
  const withEmit = median(withRounds);
  rows.push({
    question: QUESTION,
    figure: "business transaction with emitEvent({ transaction })",
    value: `${fixed(withEmit)} µs (+${fixed(withEmit - without)} µs per event)`,
    floor: "the same transaction without the event",
    floorValue: `${fixed(without)} µs`,
    ratio: without / withEmit,
    target: "report",
    met: true,
    informational: true,
  });
  await bus.close();
}

await report(QUESTION, rows, [
  "Each fleet process is a child with its own pool (60 connections shared out, the same for adapter and raw); adapter and raw write to tables of the same shape in turn.",
  ...(process.env.BENCH_NOTE === undefined
    ? ["The 2 ms commit_delay variant runs from bench/postgres-commit-delay.ts, on a private server."]
    : [process.env.BENCH_NOTE]),
]);
for (const table of tables) await pool.query(`DROP TABLE IF EXISTS public.${table} CASCADE`);
for (const table of tables) await pool.query(`DROP TABLE IF EXISTS public.${table}_pruned`);
await pool.end();
