// Events written inside the caller's SQLite transaction: kept with a commit, gone with a rollback, heard by
// subscribers only after the commit; a handle that is not the storage's database, or not in a transaction, refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EventBus, EventValidationError } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";

const open = await loadAnySqlite();

describe("sqliteStorage and the caller's transaction", () => {
  const directory = mkdtempSync(join(tmpdir(), "sqlite-tx-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("keeps a committed deal and its event, drops both on rollback, and notifies only after the commit", async () => {
    const database = open(join(directory, "seller.sqlite"));
    database.exec("CREATE TABLE deals (id TEXT PRIMARY KEY)");
    const bus = new EventBus({ storage: sqliteStorage({ database, closeDatabase: true }), closeStorage: true });
    const early = bus.emitEvent({ event_type: "deal.created" }, { transaction: database });
    await expect(early).rejects.toThrow(/transaction: the store is not set up yet/);
    await bus.listEvents({ limit: 1 }); // at boot: sets the store up (PRAGMAs cannot run inside a transaction)
    const heard: string[] = [];
    bus.subscribe("deal.*", (event) => {
      heard.push(event.deal_id);
    });
    for (const outcome of ["COMMIT", "ROLLBACK"] as const) {
      database.exec("BEGIN");
      database.prepare("INSERT INTO deals (id) VALUES (?)").run(outcome);
      await bus.emitEvent({ event_type: "deal.created", deal_id: outcome }, { transaction: database });
      expect(heard).toEqual([]); // inside the transaction: nobody hears of it yet
      database.exec(outcome);
    }
    await new Promise<void>((resolve) => {
      const check = () => (heard.length > 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect((await bus.listEvents({ event_type: "deal.created" })).map((event) => event.deal_id)).toEqual(["COMMIT"]);
    expect(database.prepare("SELECT id FROM deals").all()).toEqual([{ id: "COMMIT" }]);
    // A marker emitted after both ends: by the time it is heard, the rolled-back event would have been too.
    await bus.emitEvent({ event_type: "deal.synced", deal_id: "marker" });
    expect(heard).toEqual(["COMMIT", "marker"]);
    await bus.close();
  });

  it("refuses another database and a database outside any transaction", async () => {
    const database = open(join(directory, "refuse.sqlite"));
    const other = open(join(directory, "other.sqlite"));
    const bus = new EventBus({ storage: sqliteStorage({ database, closeDatabase: true }), closeStorage: true });
    const input = { event_type: "deal.created" } as const;
    await bus.listEvents({ limit: 1 });
    other.exec("BEGIN");
    await expect(bus.emitEvent(input, { transaction: other })).rejects.toThrow(
      /transaction: must be the SQLite database/,
    );
    other.exec("ROLLBACK");
    other.close();
    const outside = bus.emitEvent(input, { transaction: database });
    await expect(outside).rejects.toBeInstanceOf(EventValidationError);
    await expect(outside).rejects.toThrow(/transaction: the database is not inside a transaction/);
    await bus.close();
  });
});
