import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError, StorageError } from "../../src/index.js";
import {
  type SqliteDatabase,
  type SqliteDriverName,
  sqliteSchemaSql,
  sqliteStorage,
} from "../../src/storage/sqlite/index.js";
import { buildListStatement } from "../../src/storage/sqlite/sqlite-list.js";
import type { EventStorage, NormalizedEventQuery } from "../../src/storage/types.js";
import { describeStorageConformance } from "../../src/testing/index.js";
import {
  appendFromChildProcess,
  buildEvent,
  closeQuietly,
  countRows,
  indexesOf,
  loadBetterSqlite3,
  loadNodeSqlite,
  type OpenDatabase,
  planOf,
  pragma,
  schemaOf,
} from "../support/sqlite.js";

/** What the sqlite-specific tests of one driver flavour get. */
interface SqliteTestContext {
  readonly driver: SqliteDriverName;
  readonly open: OpenDatabase;
  readonly freshFile: () => string;
}

interface Flavour {
  readonly name: SqliteDriverName;
  /** How to open a connection, or undefined when this driver cannot run on this Node version. */
  readonly open: OpenDatabase | undefined;
}

const flavours: readonly Flavour[] = [
  { name: "better-sqlite3", open: await loadBetterSqlite3() },
  { name: "node:sqlite", open: await loadNodeSqlite() },
];
if (flavours.every((flavour) => flavour.open === undefined)) {
  throw new Error(`no SQLite driver runs on Node ${process.versions.node}: the sqlite adapter would go untested`);
}

const directory = mkdtempSync(join(tmpdir(), "ad-seller-events-sqlite-"));
const opened: SqliteDatabase[] = [];
let fileCount = 0;
afterAll(() => {
  for (const database of opened) closeQuietly(database);
  rmSync(directory, { recursive: true, force: true });
});

// A flavour this Node version cannot load is not defined at all (its NOT RUNNING line says why and which CI pass
// covers it), rather than reported as skipped tests.
for (const flavour of flavours.filter((candidate) => candidate.open !== undefined)) {
  describe(`sqlite storage on ${flavour.name}`, () => {
    const open: OpenDatabase = (file) => {
      const database = (flavour.open as OpenDatabase)(file);
      opened.push(database);
      return database;
    };
    const freshFile = () => join(directory, `${flavour.name.replace(":", "-")}-${++fileCount}.sqlite`);
    const fileOf = new WeakMap<EventStorage, string>();

    describeStorageConformance({
      name: `sqlite (${flavour.name})`,
      checkpoints: true,
      webhooks: true,
      createStorage: () => {
        const file = freshFile();
        const storage = sqliteStorage({ database: open(file), closeDatabase: true });
        fileOf.set(storage, file);
        return storage;
      },
      reopen: (closed) => sqliteStorage({ database: open(fileOf.get(closed) as string), closeDatabase: true }),
      watch: true,
      peer: (storage) => sqliteStorage({ database: open(fileOf.get(storage) as string), closeDatabase: true }),
      prune: true,
      describe,
      it,
      expect,
    });

    defineSqliteSpecifics({ driver: flavour.name, open, freshFile });
  });
}

describe("sqliteStorage options", () => {
  it("refuses a database that is not a SQLite connection", () => {
    for (const database of [undefined, null, {}, { prepare() {}, exec() {} }, "events.sqlite"]) {
      expect(() => sqliteStorage({ database: database as unknown as SqliteDatabase })).toThrow(EventValidationError);
    }
  });

  it("refuses table names that are not plain identifiers, in the factory and in the schema SQL", () => {
    const database = { prepare() {}, exec() {}, close() {} } as unknown as SqliteDatabase;
    for (const table of ["", "1events", 'ev"ents', "events; DROP TABLE x", "sqlite_events", "é", "a".repeat(64)]) {
      expect(() => sqliteStorage({ database, table })).toThrow(EventValidationError);
      expect(() => sqliteSchemaSql({ table })).toThrow(/table/);
    }
    expect(sqliteStorage({ database, table: "Seller_events_2" }).table).toBe("Seller_events_2");
  });
});

function defineSqliteSpecifics(context: SqliteTestContext): void {
  describe("sqlite specifics", () => {
    defineConnectionTests(context);
    defineSchemaTests(context);
    defineConcurrencyTests(context);
    definePlanTests(context);
  });
}

function defineConnectionTests({ driver, open, freshFile }: SqliteTestContext): void {
  it("recognises the driver by the shape of the connection", async () => {
    const storage = sqliteStorage({ database: open(":memory:"), closeDatabase: true });
    expect(storage.driver).toBe(driver);
    await storage.close();
  });

  it("switches a file database to WAL with synchronous FULL and a busy timeout, and leaves :memory: alone", async () => {
    const database = open(freshFile());
    database.exec("PRAGMA busy_timeout = 0");
    await sqliteStorage({ database }).get(crypto.randomUUID());
    expect(pragma(database, "journal_mode")).toBe("wal");
    expect(pragma(database, "synchronous")).toBe(2);
    expect(pragma(database, "busy_timeout")).toBe(5000);

    const memory = open(":memory:");
    await sqliteStorage({ database: memory, synchronous: "normal", busyTimeoutMs: 1234 }).get(crypto.randomUUID());
    expect(pragma(memory, "journal_mode")).toBe("memory");
    expect(pragma(memory, "synchronous")).toBe(1);
    expect(pragma(memory, "busy_timeout")).toBe(1234);
  });

  it("keeps events after the connection is closed and the file reopened; closes only what it was told to", async () => {
    const file = freshFile();
    const kept = open(file);
    const borrowed = sqliteStorage({ database: kept });
    const event = buildEvent({ session_id: "session-1" });
    await borrowed.append([event]);
    await borrowed.close();
    expect(countRows(kept, "events")).toBe(1);

    const owned = sqliteStorage({ database: kept, closeDatabase: true });
    await owned.close();
    expect(() => kept.prepare("SELECT 1")).toThrow();

    const reopened = sqliteStorage({ database: open(file), closeDatabase: true });
    expect(await reopened.list({ session_id: "session-1", limit: 5 })).toEqual([event]);
    await reopened.close();
  });

  it("reports a failing connection as a StorageError that names the operation", async () => {
    const database = open(":memory:");
    const storage = sqliteStorage({ database });
    await storage.get(crypto.randomUUID());
    database.close();
    const error = await storage.list({ limit: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).operation).toBe("list");
  });
}

function defineSchemaTests({ open, freshFile }: SqliteTestContext): void {
  it("exports schema SQL that creates exactly what the adapter creates, and may run twice", async () => {
    const automatic = open(":memory:");
    await sqliteStorage({ database: automatic, table: "seller_events" }).get(crypto.randomUUID());
    const migrated = open(":memory:");
    migrated.exec(sqliteSchemaSql({ table: "seller_events" }));
    migrated.exec(sqliteSchemaSql({ table: "seller_events" }));
    expect(schemaOf(migrated)).toEqual(schemaOf(automatic));
    expect(indexesOf(migrated, "seller_events")).toEqual({
      seller_events_deal_id_seq: ["deal_id", "seq"],
      seller_events_event_type_seq: ["event_type", "seq"],
      seller_events_flow_id_seq: ["flow_id", "seq"],
      seller_events_flow_type_seq: ["flow_type", "seq"],
      seller_events_proposal_id_seq: ["proposal_id", "seq"],
      seller_events_session_id_seq: ["session_id", "seq"],
      seller_events_timestamp_seq: ["timestamp", "seq"],
    });

    const storage = sqliteStorage({ database: migrated, table: "seller_events", createSchema: false });
    const event = buildEvent({ deal_id: "deal-1" });
    expect(await storage.append([event])).toEqual([null]);
    expect(await storage.list({ deal_id: "deal-1", limit: 5 })).toEqual([event]);
  });

  it("serves a table of an earlier release (no body column) and gives it the column when createSchema is on", async () => {
    const database = open(":memory:");
    // The schema of 0.1: no `body`. Rows stay readable, with and without the migration.
    database.exec(sqliteSchemaSql().replace(/, -- JSON object\n\s*body TEXT[^\n]*/, " -- JSON object"));
    const columnNames = () =>
      (database.prepare("PRAGMA table_info(events)").all() as { name: string }[]).map((c) => c.name);
    expect(columnNames()).not.toContain("body");
    const old = new EventBus({ storage: sqliteStorage({ database, createSchema: false }) });
    const before = await old.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    expect(columnNames()).not.toContain("body");
    const bus = new EventBus({ storage: sqliteStorage({ database }) });
    const after = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    expect(columnNames()).toContain("body");
    const bodies = database.prepare("SELECT body FROM events ORDER BY seq").all() as { body: string | null }[];
    expect(bodies.map((row) => row.body)).toEqual([null, JSON.stringify(after)]);
    const page = await bus.listEventsJsonPage({ deal_id: "d-1" });
    expect(page.json).toEqual([JSON.stringify(before), JSON.stringify(after)]);
  });

  it("fails with a StorageError naming the fix when createSchema is off and the table is missing", async () => {
    const storage = sqliteStorage({ database: open(":memory:"), createSchema: false });
    const error = await storage.append([buildEvent()]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).operation).toBe("setup");
    expect((error as StorageError).message).toMatch(/table "events" does not exist.*sqliteSchemaSql/);
  });

  it("keeps events of a custom table apart from the default table on the same database", async () => {
    const database = open(freshFile());
    const custom = sqliteStorage({ database, table: "audit_events" });
    const standard = sqliteStorage({ database });
    const event = buildEvent({ flow_id: "flow-1" });
    await custom.append([event]);
    expect(await custom.list({ flow_id: "flow-1", limit: 5 })).toEqual([event]);
    expect(await standard.list({ limit: 5 })).toEqual([]);
    expect(await standard.get(event.event_id)).toBeNull();
    expect(countRows(database, "audit_events")).toBe(1);
  });
}

function defineConcurrencyTests({ driver, open, freshFile }: SqliteTestContext): void {
  it("lets two connections to the same file see each other's events, in one append order", async () => {
    const file = freshFile();
    const first = new EventBus({ storage: sqliteStorage({ database: open(file) }) });
    const second = new EventBus({ storage: sqliteStorage({ database: open(file) }) });
    const a = await first.emitEvent({ event_type: "deal.created", deal_id: "deal-1" });
    const b = await second.emitEvent({ event_type: "deal.synced", deal_id: "deal-1" });
    const c = await first.emitEvent({ event_type: "deal.registered", deal_id: "deal-1" });
    const ids = [a, b, c].map((event) => event.event_id);
    expect((await first.listEvents({ deal_id: "deal-1" })).map((event) => event.event_id)).toEqual(ids);
    expect((await second.listEvents({ deal_id: "deal-1" })).map((event) => event.event_id)).toEqual(ids);
    expect(await second.listEvents({ after: a.event_id })).toEqual([b, c]);
    expect(await first.getEvent(b.event_id)).toEqual(b);
  });

  it("lets two processes append to one file at once without losing an event or reordering a writer", async () => {
    const file = freshFile();
    const bus = new EventBus({ storage: sqliteStorage({ database: open(file) }) });
    await bus.emitEvent({ event_type: "session.created", flow_id: "parent" });
    const child = appendFromChildProcess(driver, file, 150);
    await child.ready;
    child.start();
    for (let index = 0; index < 150; index++) {
      await bus.emitEvent({ event_type: "negotiation.round", flow_id: "parent", payload: { index } });
    }
    expect(await child.exitCode).toBe(0);
    const all = await bus.listEvents({ limit: 1000 });
    expect(all).toHaveLength(302);
    for (const writer of ["parent", "child"]) {
      const rounds = all.filter((event) => event.flow_id === writer && event.event_type === "negotiation.round");
      expect(rounds.map((event) => event.payload.index)).toEqual(Array.from({ length: 150 }, (_, index) => index));
    }
    const tailed = await bus.listEvents({ after: (all[0] as Event).event_id, limit: 1000 });
    expect(tailed).toEqual(all.slice(1));
  });

  it("rolls back the whole batch when a row fails midway, and stays usable", async () => {
    const database = open(freshFile());
    const storage = sqliteStorage({ database });
    const before = buildEvent({ flow_id: "ok" });
    await storage.append([before]);
    database.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.flow_id = 'boom'
      BEGIN SELECT RAISE(ABORT, 'boom refused by trigger'); END`);
    const batch = [buildEvent({ flow_id: "ok" }), buildEvent({ flow_id: "boom" }), buildEvent({ flow_id: "ok" })];
    const error = await storage.append(batch).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).operation).toBe("append");
    expect((error as StorageError).message).toMatch(/boom refused by trigger/);
    expect(await storage.list({ limit: 10 })).toEqual([before]);
    expect(await storage.get((batch[0] as Event).event_id)).toBeNull();
    expect(countRows(database, "events")).toBe(1);
    expect(await storage.append([batch[0] as Event])).toEqual([null]);
  });
}

function definePlanTests({ open }: SqliteTestContext): void {
  it("reads any single filter through its (column, seq) index and drives combined filters by the narrowest", async () => {
    const database = open(":memory:");
    await sqliteStorage({ database }).get(crypto.randomUUID());
    const windows = [{}, { afterSeq: 10 }, { beforeSeq: 10 }];
    const filters: [NormalizedEventQuery, string][] = [
      ...(["flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const).map(
        (column): [NormalizedEventQuery, string] => [{ [column]: "x", limit: 51 }, `events_${column}_seq`],
      ),
      [{ event_types: ["deal.created"], limit: 51 }, "events_event_type_seq"],
      [{ event_types: ["deal.created", "deal.synced"], limit: 51 }, "events_event_type_seq"],
      [
        { session_id: "s", flow_type: "f", event_types: ["deal.created", "deal.synced"], limit: 51 },
        "events_session_id_seq",
      ],
      // With several filters, the narrowest kind drives: a deal, then a proposal, a flow, a session, a flow type.
      [
        { flow_type: "f", session_id: "s", flow_id: "x", proposal_id: "p", deal_id: "d", limit: 51 },
        "events_deal_id_seq",
      ],
      [{ flow_type: "f", session_id: "s", flow_id: "x", proposal_id: "p", limit: 51 }, "events_proposal_id_seq"],
      [{ flow_type: "f", session_id: "s", flow_id: "x", limit: 51 }, "events_flow_id_seq"],
    ];
    for (const [query, index] of filters) {
      for (const window of windows) {
        const plan = planOf(database, buildListStatement("events", query, window));
        expect(plan, JSON.stringify(query)).toMatch(new RegExp(`SEARCH events USING INDEX ${index} \\(`));
        expect(plan, JSON.stringify(query)).not.toMatch(/SCAN events/);
        const mergesTypes = (query.event_types?.length ?? 0) > 1 && query.session_id === undefined;
        if (mergesTypes) {
          // One ordered index range per type, each cut at `limit`, merged: the sort sees at most `limit` rows a branch.
          expect(plan).toMatch(/MERGE \(UNION ALL\)/);
          expect(plan.match(/SEARCH events USING INDEX events_event_type_seq \(event_type=\?/g)).toHaveLength(2);
        } else expect(plan, JSON.stringify(query)).not.toMatch(/TEMP B-TREE/);
      }
    }
  });
}
