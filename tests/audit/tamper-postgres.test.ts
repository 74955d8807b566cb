// Direct tampering in PostgreSQL: SQL on the events table and the audit table, behind the library's back.
import { afterAll, describe } from "vitest";
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

// An unreachable server was reported loudly (or failed the run under REQUIRE_SERVICES=1) by serviceAvailable.
describe.skipIf(pool === undefined)("tampering with a PostgreSQL store (needs the server)", () => {
  if (pool === undefined) return;
  describeTampering("PostgreSQL", async () => {
    const table = uniqueName("audit");
    tables.push(table);
    const name = `public."${table}"`;
    const run = (sql: string, params: unknown[]) => pool.query(sql, params);
    return {
      storage: postgresStorage({ pool, table }),
      tamper: {
        alterPayload: async (eventId) =>
          void (await run(`UPDATE ${name} SET payload = '{"cpm":1}', body = NULL WHERE event_id = $1`, [eventId])),
        deleteEvent: async (eventId) => void (await run(`DELETE FROM ${name} WHERE event_id = $1`, [eventId])),
        async insertAfter(afterId, event: Event) {
          // The reading order is the sequencer's `position`: make room after the event, then take the free slot.
          const after = `(SELECT position FROM ${name} WHERE event_id = $1)`;
          await run(`UPDATE ${name} SET position = position + 1000000 WHERE position > ${after}`, [afterId]);
          await run(
            `INSERT INTO ${name} (position, event_id, event_type, "timestamp", deal_id, payload)
             SELECT position + 1, $2, $3, $4, $5, $6 FROM ${name} WHERE event_id = $1`,
            [afterId, event.event_id, event.event_type, event.timestamp, event.deal_id, JSON.stringify(event.payload)],
          );
        },
        async swap(first, second) {
          const pair = "event_id IN ($1, $2)";
          await run(`UPDATE ${name} SET position = -position WHERE ${pair}`, [first, second]);
          await run(
            `UPDATE ${name} t SET position = (SELECT -o.position FROM ${name} o
               WHERE o.event_id = CASE WHEN t.event_id = $1::uuid THEN $2::uuid ELSE $1::uuid END) WHERE ${pair}`,
            [first, second],
          );
        },
        async setRecord(log, key, value) {
          if (value === null) await run(`DELETE FROM public."${table}_audit" WHERE log = $1 AND key = $2`, [log, key]);
          else
            await run(`UPDATE public."${table}_audit" SET value = $3 WHERE log = $1 AND key = $2`, [log, key, value]);
        },
      },
    };
  });
});
