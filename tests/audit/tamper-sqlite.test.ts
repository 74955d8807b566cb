// Direct tampering in a SQLite file: SQL on the events table and the audit table, behind the library's back.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import type { Event } from "../../src/event/event.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";
import { describeTampering } from "./tamper-scenarios.js";

const openSqlite = await loadAnySqlite();
const directory = mkdtempSync(join(tmpdir(), "ad-seller-events-audit-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describeTampering("SQLite", async () => {
  const database = openSqlite(join(directory, `${randomUUID()}.sqlite`));
  const storage = sqliteStorage({ database, closeDatabase: true });
  const run = (sql: string, ...params: unknown[]) => database.prepare(sql).run(...(params as string[]));
  const seqOf = (eventId: string) =>
    Number((database.prepare("SELECT seq FROM events WHERE event_id = ?").get(eventId) as { seq: number }).seq);
  return {
    storage,
    tamper: {
      alterPayload: async (eventId) => void run(`UPDATE events SET payload = '{"cpm":1}' WHERE event_id = ?`, eventId),
      deleteEvent: async (eventId) => void run("DELETE FROM events WHERE event_id = ?", eventId),
      async insertAfter(afterId, event: Event) {
        const seq = seqOf(afterId);
        run("UPDATE events SET seq = seq + 1000000 WHERE seq > ?", seq);
        run(
          `INSERT INTO events (seq, event_id, event_type, "timestamp", deal_id, payload) VALUES (?, ?, ?, ?, ?, ?)`,
          seq + 1,
          event.event_id,
          event.event_type,
          event.timestamp,
          event.deal_id,
          JSON.stringify(event.payload),
        );
      },
      async swap(first, second) {
        const [a, b] = [seqOf(first), seqOf(second)];
        run("UPDATE events SET seq = -1 WHERE seq = ?", a);
        run("UPDATE events SET seq = ? WHERE seq = ?", a, b);
        run("UPDATE events SET seq = ? WHERE seq = -1", b);
      },
      async setRecord(log, key, value) {
        if (value === null) run("DELETE FROM events_audit WHERE log = ? AND key = ?", log, key);
        else run("UPDATE events_audit SET value = ? WHERE log = ? AND key = ?", value, log, key);
      },
    },
  };
});
