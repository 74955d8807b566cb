// Question: what does a SQLite emitEvent cost next to the raw better-sqlite3 INSERT of the same row into an
// identical table on the same connection (same WAL mode, same synchronous setting), one event per commit and 100
// events per commit?
import type Database from "better-sqlite3";
import { type Event, EventBus } from "../src/index.js";
import { sqliteSchemaSql } from "../src/storage/sqlite/index.js";
import { measure, report, speedRow } from "./harness.js";
import { payloadFor, ROW_COLUMNS, rowValues, sqliteStore, typicalEvent } from "./stores.js";

const QUESTION = "sqlite-emit";
const BATCH = 100;
const RAW_TABLE = "raw_events";

/** A fresh database file holding the bus's table and the raw table, set up alike on one connection. */
interface Tables {
  readonly store: ReturnType<typeof sqliteStore>;
  readonly bus: EventBus;
  readonly rawInsert: Database.Statement;
  readonly rawBatch: (events: readonly Event[]) => void;
}

async function openTables(synchronous: "full" | "normal"): Promise<Tables> {
  const store = sqliteStore({ synchronous });
  const bus = new EventBus({ storage: store.storage });
  // The first emit sets the connection up (busy timeout, WAL, synchronous, schema); the raw table then shares it.
  await bus.emitEvent({ event_type: "session.created", session_id: "session-1" });
  const database: Database.Database = store.database;
  database.exec(sqliteSchemaSql({ table: RAW_TABLE }));
  const rawInsert = database.prepare(
    `INSERT INTO "${RAW_TABLE}" (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const rawBatch = database.transaction((events: readonly Event[]) => {
    for (const event of events) rawInsert.run(...rowValues(event));
  });
  return { store, bus, rawInsert, rawBatch };
}

let counter = 0;
const emitOne = ({ bus }: Tables) =>
  bus.emitEvent({
    event_type: "negotiation.round",
    flow_id: "flow-1",
    flow_type: "proposal_handling",
    session_id: "session-1",
    proposal_id: "proposal-1",
    payload: payloadFor(counter++),
  });
const insertOne = ({ rawInsert }: Tables) => rawInsert.run(...rowValues(typicalEvent(counter++)));
const freshBatch = () => Array.from({ length: BATCH }, () => typicalEvent(counter++));
const teardown = ({ store }: Tables) => store.dispose();
const full = () => openTables("full");
const normal = () => openTables("normal");

// Each contender gets a fresh file per round, so that a table grown by one contender never slows another.
const timings = await measure([
  { name: "emitEvent", setup: full, run: emitOne, teardown },
  { name: "raw INSERT", setup: full, run: insertOne, teardown },
  {
    name: "storage.append(100)",
    setup: full,
    run: ({ store }: Tables) => store.storage.append(freshBatch()),
    teardown,
    opsPerCall: BATCH,
  },
  {
    name: "raw transaction of 100 INSERTs",
    setup: full,
    run: ({ rawBatch }: Tables) => rawBatch(freshBatch()),
    teardown,
    opsPerCall: BATCH,
  },
  { name: "emitEvent, synchronous=NORMAL", setup: normal, run: emitOne, teardown },
  { name: "raw INSERT, synchronous=NORMAL", setup: normal, run: insertOne, teardown },
] as never[]);

const [emit, raw, append, rawTransaction, emitNormal, rawNormal] = timings;
if (!emit || !raw || !append || !rawTransaction || !emitNormal || !rawNormal) throw new Error("missing timing");
await report(
  QUESTION,
  [
    speedRow(QUESTION, "sqlite emitEvent, one per commit", emit, "raw prepared INSERT, autocommit", raw, 0.8),
    speedRow(
      QUESTION,
      "sqlite storage.append, 100 per commit (per event)",
      append,
      "raw transaction of 100 INSERTs",
      rawTransaction,
      0.8,
    ),
    {
      ...speedRow(
        QUESTION,
        "sqlite emitEvent, synchronous=NORMAL (no fsync per commit)",
        emitNormal,
        "raw INSERT, synchronous=NORMAL",
        rawNormal,
        0.8,
      ),
      informational: true,
    },
  ],
  [
    "both tables on one better-sqlite3 connection per round (WAL, synchronous=FULL, the adapter's defaults, unless named); " +
      "the raw floor binds the same 10 columns, JSON.stringify of payload and metadata included",
    "synchronous=FULL pays one fsync per commit, which hides the library's CPU cost; the NORMAL row shows that cost",
  ],
);
