// Direct tampering in PostgreSQL: SQL on the events table and the audit table, behind the library's back.
import { afterAll, describe, it } from "vitest";
import type { Event } from "../../src/event/event.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";
import { describeTampering } from "./tamper-scenarios.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const pool = available ? createPool(PG_URL) : undefined;
const tables: string[] = [];
afterAll(async () => {
  if (pool === undefined) return;
  await pool.end();
  const suffixes = ["", "_consumers", "_dead_letters", "_pruned", "_audit"];
  await dropTestObjects(PG_URL, { tables: tables.flatMap((table) => suffixes.map((suffix) => `${table}${suffix}`)) });
});

if (pool === undefined) {
  describe.skip("tampering with a PostgreSQL store (PostgreSQL unreachable)", () => it("skipped", () => {}));
} else {
  describeTampering("PostgreSQL", async () => {
    const table = uniqueName("audit");
    tables.push(table);
    const name = `public."${table}"`;
    const run = (sql: string, params: unknown[]) => pool.query(sql, params);
    // Position-changing tampering moves whole rows: the append order columns cannot be updated in place.
    const moveRows = async (where: string, params: unknown[], shift: string) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(`CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT * FROM ${name} WHERE ${where}`, params);
        await client.query(`DELETE FROM ${name} WHERE ${where}`, params);
        await client.query(`UPDATE moved SET ${shift}`, shift.includes("$") ? params : []);
        await client.query(`INSERT INTO ${name} OVERRIDING SYSTEM VALUE SELECT * FROM moved`);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    };
    return {
      storage: postgresStorage({ pool, table }),
      tamper: {
        alterPayload: async (eventId) =>
          void (await run(`UPDATE ${name} SET payload = '{"cpm":1}', body = NULL WHERE event_id = $1`, [eventId])),
        deleteEvent: async (eventId) => void (await run(`DELETE FROM ${name} WHERE event_id = $1`, [eventId])),
        async insertAfter(afterId, event: Event) {
          const after = `(SELECT seq FROM ${name} WHERE event_id = $1)`;
          await moveRows(`seq > ${after}`, [afterId], "seq = seq + 1000000");
          await run(
            `INSERT INTO ${name} (seq, xid, event_id, event_type, "timestamp", deal_id, payload)
             OVERRIDING SYSTEM VALUE SELECT seq + 1, xid, $2, $3, $4, $5, $6 FROM ${name} WHERE event_id = $1`,
            [afterId, event.event_id, event.event_type, event.timestamp, event.deal_id, JSON.stringify(event.payload)],
          );
        },
        swap: (first, second) =>
          moveRows(
            "event_id IN ($1, $2)",
            [first, second],
            `(seq, xid) = (SELECT o.seq, o.xid FROM moved o WHERE o.event_id = CASE WHEN moved.event_id = $1::uuid THEN $2::uuid ELSE $1::uuid END)`,
          ),
        async setRecord(log, key, value) {
          if (value === null) await run(`DELETE FROM public."${table}_audit" WHERE log = $1 AND key = $2`, [log, key]);
          else
            await run(`UPDATE public."${table}_audit" SET value = $3 WHERE log = $1 AND key = $2`, [log, key, value]);
        },
      },
    };
  });
}
