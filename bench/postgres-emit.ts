// Question: what does a PostgreSQL emitEvent cost next to a raw pg INSERT of the same row into an identical table,
// one at a time, 16 in flight (where the adapter's group commit should share statements), and 100 per statement?
import type pg from "pg";
import { type Event, EventBus } from "../src/index.js";
import { wireJson } from "../src/storage/kit/stored-event.js";
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

/** `rows` value lists of the ten columns; with `extra`, a `body` parameter and `extra` (an expression) follow. */
function placeholders(rows: number, extra?: string): string {
  const width = extra === undefined ? COLUMN_COUNT : COLUMN_COUNT + 1;
  return Array.from({ length: rows }, (_, row) => {
    const values = Array.from({ length: width }, (_, column) => `$${row * width + column + 1}`);
    return `(${[...values, ...(extra === undefined ? [] : [extra])].join(", ")})`;
  }).join(", ");
}

// One pool for both tables: the raw floor may use WIDE_IN_FLIGHT connections at once.
const store = postgresStore(WIDE_IN_FLIGHT + 4);
const pool: pg.Pool = store.pool;
pool.on("error", () => undefined);
const rawTable = `${store.table}_raw`;
const bus = new EventBus({ storage: store.storage });
await bus.emitEvent({ event_type: "session.created", session_id: "session-1" }); // creates the adapter's table
await pool.query(postgresSchemaSql({ table: rawTable }));
// A second floor, for information: the same raw INSERTs giving each row what makes it readable, a `position` (from a
// plain sequence: no ordering) and the `body` text. Such a row enters the read indexes the first floor's rows skip.
const readableTable = `${store.table}_readable`;
await pool.query(postgresSchemaSql({ table: readableTable }));
await pool.query(`CREATE SEQUENCE ${readableTable}_position`);
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

const readableColumns = `${ROW_COLUMNS}, body, position`;
const nextPosition = `nextval('${readableTable}_position')`;
const readableSingle = {
  name: `readable_single_${readableTable}`,
  text: `INSERT INTO ${readableTable} (${readableColumns}) VALUES ${placeholders(1, nextPosition)}`,
};
const readableMany = {
  name: `readable_many_${readableTable}`,
  text: `INSERT INTO ${readableTable} (${readableColumns}) VALUES ${placeholders(BATCH, nextPosition)}`,
};
const readableValues = (event: Event) => [...rowValues(event), wireJson(event)];

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
const insertReadable = () => pool.query({ ...readableSingle, values: readableValues(typicalEvent(counter++)) });

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
    { name: "raw INSERT, readable row", run: insertReadable },
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
    {
      name: "raw 100-row INSERT, readable rows",
      run: () =>
        pool.query({
          ...readableMany,
          values: Array.from({ length: BATCH }, () => readableValues(typicalEvent(counter++))).flat(),
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
await dropPostgresTables(pool, readableTable);
await pool.query(`DROP SEQUENCE IF EXISTS ${readableTable}_position`);
await store.dispose();

const [emit, raw, readable, followed, unawaitedEmit, emit16, raw16, emit64, raw64, append, rawMulti, readableMulti] =
  timings;
if (
  !emit ||
  !raw ||
  !readable ||
  !followed ||
  !unawaitedEmit ||
  !emit16 ||
  !raw16 ||
  !emit64 ||
  !raw64 ||
  !append ||
  !rawMulti ||
  !readableMulti
) {
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
        "postgres emitEvent, one at a time",
        emit,
        "raw single-row INSERT of a readable row (position from a sequence, body), one at a time",
        readable,
        0.8,
      ),
      informational: true,
    },
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
    {
      ...speedRow(
        QUESTION,
        `postgres storage.append(${BATCH}) (per event)`,
        append,
        `raw ${BATCH}-row INSERT of readable rows (positions from a sequence, body)`,
        readableMulti,
        0.8,
      ),
      informational: true,
    },
  ],
  [
    `one pg.Pool of ${IN_FLIGHT + 4} for both identical tables (postgresSchemaSql); the raw floor uses named statements ` +
      `with one parameter per column; server ${serverSettings}`,
    `${IN_FLIGHT} (${WIDE_IN_FLIGHT}) in flight = as many workers, each emitting ${PER_WORKER} events one after ` +
      "another per timed call",
    ...(process.env.BENCH_NOTE === undefined ? [] : [process.env.BENCH_NOTE]),
  ],
);
