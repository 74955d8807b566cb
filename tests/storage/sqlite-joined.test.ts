// A SQLite JSON page comes joined in one row (group_concat of the stored bodies) and is split again: every page that
// cannot be split safely must be read row by row instead, and give what the row-by-row read gives.
import { describe, expect, it } from "vitest";
import type { Event } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import type { SqliteStatement } from "../../src/storage/sqlite/sqlite-driver.js";
import { readJoinedPage } from "../../src/storage/sqlite/sqlite-list-joined.js";
import type { NormalizedEventQuery } from "../../src/storage/types.js";
import { buildEvent, loadAnySqlite } from "../support/sqlite.js";

const open = await loadAnySqlite();

async function storeOf(events: readonly Event[]) {
  const database = open(":memory:");
  const storage = sqliteStorage({ database, closeDatabase: true });
  await storage.append(events);
  return { database, storage };
}

const query = (fields: Partial<NormalizedEventQuery> = {}) => ({ limit: 10, ...fields }) as NormalizedEventQuery;
const texts = (events: readonly Event[]) => events.map((event) => JSON.stringify(event));

/** A statement whose one row is given, as the joined read would return it. */
const statementOf = (row: Record<string, unknown>) =>
  ({ get: () => row, all: () => [row] }) as unknown as SqliteStatement;

describe("sqlite pages read joined", () => {
  it("gives the stored bodies oldest first, for the newest, before and after windows", async () => {
    const events = Array.from({ length: 5 }, (_, index) => buildEvent({ payload: { index, text: "a\nb ,\u2028" } }));
    const { storage } = await storeOf(events);
    expect(await storage.listJson?.(query())).toEqual(texts(events));
    expect(await storage.listJson?.(query({ limit: 2 }))).toEqual(texts(events.slice(3)));
    expect(await storage.listJson?.(query({ before: (events[3] as Event).event_id, limit: 2 }))).toEqual(
      texts(events.slice(1, 3)),
    );
    expect(await storage.listJson?.(query({ after: (events[1] as Event).event_id, limit: 2 }))).toEqual(
      texts(events.slice(2, 4)),
    );
    expect(await storage.listJson?.(query({ session_id: "nobody" }))).toEqual([]);
    await storage.close();
  });

  it("passes a body another tool stored over several lines on as it is, like a row-by-row read", async () => {
    const events = [buildEvent(), buildEvent(), buildEvent()];
    const { database, storage } = await storeOf(events);
    const pretty = JSON.stringify(events[1], null, 2);
    database.prepare("UPDATE events SET body = ? WHERE event_id = ?").run(pretty, events[1]?.event_id ?? "");
    expect(await storage.listJson?.(query())).toEqual([JSON.stringify(events[0]), pretty, JSON.stringify(events[2])]);
    await storage.close();
  });

  it("builds the JSON of rows without a body when a page mixes them with stored bodies", async () => {
    const events = [buildEvent(), buildEvent(), buildEvent()];
    const { database, storage } = await storeOf(events);
    database.prepare("UPDATE events SET body = NULL WHERE event_id = ?").run(events[0]?.event_id ?? "");
    expect(await storage.listJson?.(query())).toEqual(texts(events));
    await storage.close();
  });

  it("refuses a joined row whose rows came out of order, or whose bodies and rows do not pair up", () => {
    const row = { bodies: "{}\n{}\n{}", seqs: "3,2,1", missing: 0 };
    expect(readJoinedPage(statementOf(row), [], false)).toEqual(["{}", "{}", "{}"]);
    expect(readJoinedPage(statementOf({ ...row, seqs: "3,1,2" }), [], false)).toBeUndefined();
    expect(readJoinedPage(statementOf(row), [], true)).toBeUndefined();
    expect(readJoinedPage(statementOf({ ...row, seqs: "3,2" }), [], false)).toBeUndefined();
    expect(readJoinedPage(statementOf({ ...row, missing: 1 }), [], false)).toBeUndefined();
    expect(readJoinedPage(statementOf({ bodies: null, seqs: null, missing: 0 }), [], false)).toEqual([]);
  });
});
