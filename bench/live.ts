// Question: how fast does live delivery reach a tail in another process, does a shared reader keep store reads flat
// with 1,000 tailers, what does the wake-up add to an append (and where should PostgreSQL's NOTIFY go), and how long
// does one event take to reach 1,000 SSE clients?
import { createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { createEventsHandler } from "../src/http/index.js";
import { EventBus, type EventStorage, memoryStorage } from "../src/index.js";
import { postgresStorage } from "../src/storage/postgres/index.js";
import { redisStorage } from "../src/storage/redis/index.js";
import { type Contender, quick, type ResultRow, report, speedRow, summarize, type Timing } from "./harness.js";
import { deliveryRows } from "./live-delivery.js";
import {
  PG_URL,
  postgresUnreachable,
  REDIS_URL,
  ROW_COLUMNS,
  redisUnreachable,
  rowValues,
  typicalEvent,
} from "./stores.js";

const QUESTION = "live";
const notes: string[] = [];
let sectionStart = performance.now();
/** Prints how long each part took, so that a slow quick run shows where its time went. */
function lap(part: string): void {
  console.log(`(${part}: ${((performance.now() - sectionStart) / 1000).toFixed(1)} s)`);
  sectionStart = performance.now();
}
const rows: ResultRow[] = [...(await deliveryRows(notes))];
lap("delivery");
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Store reads per second while events arrive at 500/s, with `tailers` tails of different filters on one bus. */
async function readsPerSecond(tailers: number): Promise<number> {
  const inner = memoryStorage();
  let reads = 0;
  const storage: EventStorage = {
    name: "counted",
    append: (events) => inner.append(events),
    get: (id) => inner.get(id),
    list: (query) => {
      reads++;
      return inner.list(query);
    },
    close: () => inner.close(),
    watch: (onAppend) => (inner.watch as NonNullable<EventStorage["watch"]>)(onAppend),
  };
  const bus = new EventBus({ storage });
  const tails = Array.from({ length: tailers }, (_, index) => bus.tail({ flow_id: `flow-${index % 100}` }));
  const loops = tails.map(async (tail) => {
    for await (const _event of tail) {
      // each tail drains its matches
    }
  });
  await settle(50);
  const seconds = quick ? 1 : 3;
  const before = reads;
  const began = performance.now();
  for (let index = 0; index < 500 * seconds; index++) {
    await bus.emitEvent({ event_type: "negotiation.round", flow_id: `flow-${index % 100}` });
    const due = began + (index + 1) * 2;
    const wait = due - performance.now();
    if (wait > 0) await settle(wait);
  }
  const rate = (reads - before) / ((performance.now() - began) / 1000);
  await bus.close(); // ends every tail
  await Promise.all(loops);
  return rate;
}

const readsOne = await readsPerSecond(1);
const readsMany = await readsPerSecond(1000);
lap("reads with 1 and 1,000 tailers");
rows.push({
  question: QUESTION,
  figure: "store reads/s, 1,000 tailers (different filters), 500 events/s",
  value: `${readsMany.toFixed(0)} reads/s`,
  floor: "the same with 1 tailer",
  floorValue: `${readsOne.toFixed(0)} reads/s`,
  ratio: readsOne / readsMany,
  target: ">= 0.9x (no more reads)",
  met: readsOne / readsMany >= 0.9,
});

/**
 * Interleaved rounds of a fixed amount of work per contender (the harness's `measure` warms each contender up with 20
 * calls, too slow for calls that each do hundreds of round trips); µs per operation, median over rounds.
 */
async function timeRounds(contenders: readonly Contender<never>[]): Promise<Timing[]> {
  const rounds = quick ? 3 : 7;
  const calls = quick ? 3 : 10;
  const perRound = new Map<string, number[]>(contenders.map((contender) => [contender.name, []]));
  for (const contender of contenders) await contender.run(undefined as never); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (let offset = 0; offset < contenders.length; offset++) {
      const contender = contenders[(offset + round) % contenders.length] as Contender<never>;
      const began = performance.now();
      for (let call = 0; call < calls; call++) await contender.run(undefined as never);
      const micros = ((performance.now() - began) * 1000) / (calls * (contender.opsPerCall ?? 1));
      perRound.get(contender.name)?.push(micros);
    }
  }
  return contenders.map(({ name }) => summarize(name, perRound.get(name) ?? []));
}

/** `width` workers doing `perWorker` operations each. */
async function concurrently(operation: () => Promise<unknown>, width: number, perWorker: number): Promise<void> {
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let index = 0; index < perWorker; index++) await operation();
    }),
  );
}

const PER_WORKER = quick ? 16 : 25;
/** Operations per timed call one at a time. */
const SERIAL = quick ? 40 : 100;
let counter = 0;
const emitWith = (bus: EventBus) => () =>
  bus.emitEvent({ event_type: "negotiation.round", session_id: "s", payload: { round: counter++ } });

/** Adapter appends with the wake-up on (and a watcher listening) vs off, one at a time and 16 in flight. */
async function wakeUpCost(
  label: string,
  open: (notify: boolean) => { storage: EventStorage; dispose: () => Promise<void> },
): Promise<void> {
  const on = open(true);
  const off = open(false);
  const stopWatch = on.storage.watch?.(() => {});
  const busOn = new EventBus({ storage: on.storage });
  const busOff = new EventBus({ storage: off.storage });
  await Promise.all([emitWith(busOn)(), emitWith(busOff)()]);
  const [one, oneOff, many, manyOff] = await timeRounds([
    { name: "on", run: () => concurrently(emitWith(busOn), 1, SERIAL), opsPerCall: SERIAL },
    { name: "off", run: () => concurrently(emitWith(busOff), 1, SERIAL), opsPerCall: SERIAL },
    { name: "on x16", run: () => concurrently(emitWith(busOn), 16, PER_WORKER), opsPerCall: 16 * PER_WORKER },
    { name: "off x16", run: () => concurrently(emitWith(busOff), 16, PER_WORKER), opsPerCall: 16 * PER_WORKER },
  ] as Contender<never>[]);
  await stopWatch?.();
  await Promise.all([busOn.close(), busOff.close(), on.dispose(), off.dispose()]);
  if (!one || !oneOff || !many || !manyOff) throw new Error("missing timing");
  rows.push(speedRow(QUESTION, `${label} emit, wake-up on, one at a time`, one, "wake-up off", oneOff, 0.9));
  rows.push(speedRow(QUESTION, `${label} emit, wake-up on, 16 in flight`, many, "wake-up off", manyOff, 0.9));
}

const pgReason = await postgresUnreachable();
if (pgReason === undefined) {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 24 });
  const tables: string[] = [];
  await wakeUpCost("postgres", (notify) => {
    const table = `bench_wake_${process.pid}_${tables.length}`;
    tables.push(table);
    const storage = postgresStorage({ pool, table, notify });
    return { storage, dispose: () => storage.close() };
  });
  await notifyPlacement(pool);
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS public.${table}`);
  await pool.end();
} else notes.push(`postgres wake-up cost skipped: ${pgReason}`);
lap("postgres wake-up cost and NOTIFY placement");

const redisReason = await redisUnreachable();
if (redisReason === undefined) {
  const client = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  await wakeUpCost("redis", (notify) => {
    const prefix = `bench:wake:${process.pid}:${prefixes.length}:`;
    prefixes.push(prefix);
    const storage = redisStorage({ client, prefix, notify });
    return { storage, dispose: () => storage.close() };
  });
  for (const prefix of prefixes) {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.unlink(...keys);
  }
  client.disconnect();
} else notes.push(`redis wake-up cost skipped: ${redisReason}`);
lap("redis wake-up cost");

/**
 * Where should the NOTIFY go? Raw single-row INSERTs (each its own transaction) with `pg_notify` in the same
 * statement (inside the transaction), as a second statement after the commit, or not at all.
 */
async function notifyPlacement(pool: pg.Pool): Promise<void> {
  const table = `bench_notify_${process.pid}`;
  await pool.query(`CREATE TABLE ${table} (LIKE public.bench_wake_${process.pid}_0 INCLUDING ALL)`);
  const columns = ROW_COLUMNS.split(",").length;
  const values = Array.from({ length: columns }, (_, index) => `$${index + 1}`).join(", ");
  const insert = `INSERT INTO ${table} (${ROW_COLUMNS}) VALUES (${values})`;
  const inside = `WITH stored AS (${insert} RETURNING 1) SELECT pg_notify('bench_notify', '') FROM stored`;
  const listener = await pool.connect();
  await listener.query("LISTEN bench_notify");
  const plain = () => pool.query(insert, rowValues(typicalEvent(counter++)));
  const withInside = () => pool.query(inside, rowValues(typicalEvent(counter++)));
  const withAfter = async () => {
    await plain();
    await pool.query("SELECT pg_notify('bench_notify', '')");
  };
  const timings = await timeRounds([
    { name: "none", run: () => concurrently(plain, 1, SERIAL), opsPerCall: SERIAL },
    { name: "inside", run: () => concurrently(withInside, 1, SERIAL), opsPerCall: SERIAL },
    { name: "after", run: () => concurrently(withAfter, 1, SERIAL), opsPerCall: SERIAL },
    { name: "none x16", run: () => concurrently(plain, 16, PER_WORKER), opsPerCall: 16 * PER_WORKER },
    { name: "inside x16", run: () => concurrently(withInside, 16, PER_WORKER), opsPerCall: 16 * PER_WORKER },
    { name: "after x16", run: () => concurrently(withAfter, 16, PER_WORKER), opsPerCall: 16 * PER_WORKER },
  ] as Contender<never>[]);
  listener.release(true);
  await pool.query(`DROP TABLE ${table}`);
  const [none, inTx, after, none16, inTx16, after16] = timings;
  if (!none || !inTx || !after || !none16 || !inTx16 || !after16) throw new Error("missing timing");
  const info = (row: ResultRow): ResultRow => ({ ...row, informational: true });
  rows.push(info(speedRow(QUESTION, "raw INSERT + pg_notify inside the transaction, 1", inTx, "no notify", none, 0)));
  rows.push(info(speedRow(QUESTION, "raw INSERT, then pg_notify after commit, 1", after, "no notify", none, 0)));
  rows.push(
    info(speedRow(QUESTION, "raw INSERT + pg_notify inside the transaction, 16", inTx16, "no notify", none16, 0)),
  );
  rows.push(info(speedRow(QUESTION, "raw INSERT, then pg_notify after commit, 16", after16, "no notify", none16, 0)));
}

/** 1,000 SSE clients on one node:http server; one event at a time; time until the last client has it. */
async function sseFanOut(clients: number): Promise<number[]> {
  const bus = new EventBus();
  const handler = createEventsHandler(bus, { maxStreams: clients });
  const server = createServer((req, res) => void handler(req, res));
  server.maxConnections = clients + 10;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let waiting: { remaining: number; id: string; done: () => void } | undefined;
  const requests = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<ReturnType<typeof get>>((resolve) => {
          const request = get({ host: "127.0.0.1", port, path: "/events/stream", agent: false }, (response) => {
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              if (waiting !== undefined && chunk.includes(`id: ${waiting.id}`) && --waiting.remaining === 0) {
                waiting.done();
              }
            });
            resolve(request);
          });
        }),
    ),
  );
  await settle(200);
  const times: number[] = [];
  for (let round = 0; round < (quick ? 3 : 7); round++) {
    const id = crypto.randomUUID();
    const began = performance.now();
    await new Promise<void>((resolve) => {
      waiting = { remaining: clients, id, done: resolve };
      void bus.emitEvent({ event_id: id, event_type: "deal.created" } as Parameters<typeof bus.emitEvent>[0]);
    });
    times.push(performance.now() - began);
  }
  for (const request of requests) request.destroy();
  await bus.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return times.sort((a, b) => a - b);
}

const fanOut = await sseFanOut(1000);
lap("SSE fan-out");
const median = fanOut[fanOut.length >> 1] as number;
rows.push({
  question: QUESTION,
  figure: "SSE: one event to 1,000 connected clients, until the last has it",
  value: `${median.toFixed(1)} ms (${(fanOut[0] as number).toFixed(1)}-${(fanOut.at(-1) as number).toFixed(1)})`,
  floor: "no floor",
  floorValue: "-",
  ratio: 1,
  target: "for information",
  met: true,
  informational: true,
});

await report(QUESTION, rows, notes);
