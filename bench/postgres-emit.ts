// Question: what does a PostgreSQL emitEvent cost next to a raw pg INSERT of the same row into an identical table,
// one at a time, 16 in flight (where the adapter's group commit should share statements), and 100 per statement?
import type pg from "pg";
import { EventBus } from "../src/index.js";
import { postgresSchemaSql, postgresStorage } from "../src/storage/postgres/index.js";
import { measure, quick, report, skip, speedRow } from "./harness.js";
import {
  dropPostgresTables,
  payloadFor,
  postgresStore,
  postgresUnreachable,
  ROW_COLUMNS,
  rowValues,
  typicalEvent,
} from "./stores.js";

/** Reported under another name (and with a note) when bench/postgres-commit-delay.ts runs it on its own server. */
const QUESTION = process.env.BENCH_QUESTION ?? "postgres-emit";
const BATCH = 100;
const IN_FLIGHT = 16;
/** Emits per timed call in the concurrent case: each of the 16 workers emits this many, one after another. */
const PER_WORKER = quick ? 8 : 25;
/** A wider fan-in, reported for information: how group commit scales when more emits wait on each statement. */
const WIDE_IN_FLIGHT = 64;

const unreachable = await postgresUnreachable();
if (unreachable !== undefined) {
  await skip(QUESTION, unreachable);
  process.exit(0);
}

const COLUMN_COUNT = 10;

function placeholders(rows: number): string {
  return Array.from(
    { length: rows },
    (_, row) =>
      `(${Array.from({ length: COLUMN_COUNT }, (_, column) => `$${row * COLUMN_COUNT + column + 1}`).join(", ")})`,
  ).join(", ");
}

// One pool for both tables: the raw floor may use WIDE_IN_FLIGHT connections at once.
const store = postgresStore(WIDE_IN_FLIGHT + 4);
const pool: pg.Pool = store.pool;
pool.on("error", () => undefined);
const rawTable = `${store.table}_raw`;
const bus = new EventBus({ storage: store.storage });
await bus.emitEvent({ event_type: "session.created", session_id: "session-1" }); // creates the adapter's table
await pool.query(postgresSchemaSql({ table: rawTable }));
// Two more storages on the same table that do not lead its sequencer (this process's first storage took the lead
// above): what a writer of a fleet pays, waiting for the leader's announcement, or not (awaitPosition: false).
const follower = new EventBus({ storage: postgresStorage({ pool, table: store.table }) });
const unawaited = new EventBus({ storage: postgresStorage({ pool, table: store.table, awaitPosition: false }) });
// Named statements: each connection parses and plans them once, the best a hand-written client can do.
const rawSingle = {
  name: `raw_single_${rawTable}`,
  text: `INSERT INTO ${rawTable} (${ROW_COLUMNS}) VALUES ${placeholders(1)}`,
};
const rawMany = {
  name: `raw_many_${rawTable}`,
  text: `INSERT INTO ${rawTable} (${ROW_COLUMNS}) VALUES ${placeholders(BATCH)}`,
};

let counter = 0;
const emitBy = (target: EventBus) => () =>
  target.emitEvent({
    event_type: "negotiation.round",
    flow_id: "flow-1",
    flow_type: "proposal_handling",
    session_id: "session-1",
    proposal_id: "proposal-1",
    payload: payloadFor(counter++),
  });
const emitOne = emitBy(bus);
const insertOne = () => pool.query({ ...rawSingle, values: rowValues(typicalEvent(counter++)) });

/** `width` workers, each doing `PER_WORKER` operations one after another: `width` always in flight. */
async function concurrently(operation: () => Promise<unknown>, width = IN_FLIGHT): Promise<void> {
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let index = 0; index < PER_WORKER; index++) await operation();
    }),
  );
}

const timings = await measure(
  [
    { name: "emitEvent", run: emitOne },
    { name: "raw INSERT", run: insertOne },
    { name: "emitEvent, not leading", run: emitBy(follower) },
    { name: "emitEvent, not leading, awaitPosition false", run: emitBy(unawaited) },
    { name: "emitEvent x16", run: () => concurrently(emitOne), opsPerCall: IN_FLIGHT * PER_WORKER },
    { name: "raw INSERT x16", run: () => concurrently(insertOne), opsPerCall: IN_FLIGHT * PER_WORKER },
    {
      name: "emitEvent x64",
      run: () => concurrently(emitOne, WIDE_IN_FLIGHT),
      opsPerCall: WIDE_IN_FLIGHT * PER_WORKER,
    },
    {
      name: "raw INSERT x64",
      run: () => concurrently(insertOne, WIDE_IN_FLIGHT),
      opsPerCall: WIDE_IN_FLIGHT * PER_WORKER,
    },
    {
      name: "storage.append(100)",
      run: () => store.storage.append(Array.from({ length: BATCH }, () => typicalEvent(counter++))),
      opsPerCall: BATCH,
    },
    {
      name: "raw 100-row INSERT",
      run: () =>
        pool.query({
          ...rawMany,
          values: Array.from({ length: BATCH }, () => rowValues(typicalEvent(counter++))).flat(),
        }),
      opsPerCall: BATCH,
    },
  ] as never[],
  { timeMs: quick ? 200 : 1000 },
);
const settings = await pool.query<{ name: string; setting: string }>(
  "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync')",
);
await follower.close();
await unawaited.close();
await dropPostgresTables(pool, rawTable);
await store.dispose();

const [emit, raw, followed, unawaitedEmit, emit16, raw16, emit64, raw64, append, rawMulti] = timings;
if (!emit || !raw || !followed || !unawaitedEmit || !emit16 || !raw16 || !emit64 || !raw64 || !append || !rawMulti) {
  throw new Error("missing timing");
}
const serverSettings = settings.rows.map((row) => `${row.name}=${row.setting}`).join(", ");
await report(
  QUESTION,
  [
    speedRow(QUESTION, "postgres emitEvent, one at a time", emit, "raw single-row INSERT, one at a time", raw, 0.8),
    {
      ...speedRow(
        QUESTION,
        "postgres emitEvent, one at a time, from a storage that does not lead the sequencer",
        followed,
        "raw single-row INSERT, one at a time",
        raw,
        0.8,
      ),
      informational: true,
    },
    {
      ...speedRow(
        QUESTION,
        "postgres emitEvent, one at a time, not leading, awaitPosition: false",
        unawaitedEmit,
        "raw single-row INSERT, one at a time",
        raw,
        0.8,
      ),
      informational: true,
    },
    speedRow(
      QUESTION,
      `postgres emitEvent, ${IN_FLIGHT} in flight (group commit)`,
      emit16,
      `raw single-row INSERT, ${IN_FLIGHT} in flight`,
      raw16,
      2,
    ),
    {
      ...speedRow(
        QUESTION,
        `postgres emitEvent, ${WIDE_IN_FLIGHT} in flight (group commit)`,
        emit64,
        `raw single-row INSERT, ${WIDE_IN_FLIGHT} in flight`,
        raw64,
        2,
      ),
      informational: true,
    },
    speedRow(
      QUESTION,
      `postgres storage.append(${BATCH}) (per event)`,
      append,
      `raw ${BATCH}-row INSERT`,
      rawMulti,
      0.8,
    ),
  ],
  [
    `one pg.Pool of ${IN_FLIGHT + 4} for both identical tables (postgresSchemaSql); the raw floor uses named statements ` +
      `with one parameter per column; server ${serverSettings}`,
    `${IN_FLIGHT} (${WIDE_IN_FLIGHT}) in flight = as many workers, each emitting ${PER_WORKER} events one after ` +
      "another per timed call",
    ...(process.env.BENCH_NOTE === undefined ? [] : [process.env.BENCH_NOTE]),
  ],
);
