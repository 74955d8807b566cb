import { afterAll, describe, expect, it } from "vitest";
import { type Event, EventBus, type EventQuery } from "../../src/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { printed, startChild } from "../fixtures/postgres-children.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const WRITERS = 4;
const PER_WRITER = 500;

/** Every event matching `query` after `startId`, paging with `after`. */
async function listAll(bus: EventBus, query: EventQuery, startId: string): Promise<Event[]> {
  const events: Event[] = [];
  let cursor = startId;
  for (;;) {
    const page = await bus.listEvents({ ...query, after: cursor, limit: 1000 });
    if (page.length === 0) return events;
    events.push(...page);
    cursor = (page.at(-1) as Event).event_id;
  }
}

const idsOf = (events: readonly Event[]) => events.map((event) => event.event_id);

describe.skipIf(!available)("postgresStorage shared by several processes", () => {
  const tables: string[] = [];
  const schemas: string[] = [];
  const pool = createPool(PG_URL);

  afterAll(async () => {
    await dropTestObjects(PG_URL, { tables, schemas });
    await pool.end();
  });

  it("lets a tailer see every event of 4 concurrent writers exactly once, in one order for every reader", async () => {
    const table = uniqueName("fleet");
    tables.push(table);
    const bus = new EventBus({ storage: postgresStorage({ pool, table }) });
    const start = await bus.emitEvent({ event_type: "session.created", flow_id: "start" });
    const total = WRITERS * PER_WRITER;
    const tailer = startChild("postgres-fleet-tailer.ts", [PG_URL, table, start.event_id, String(total)]);
    const writers = Array.from({ length: WRITERS }, (_, writer) =>
      startChild("postgres-fleet-writer.ts", [PG_URL, table, String(writer), String(PER_WRITER), start.event_id]),
    );
    const reports = (await Promise.all(writers.map((child) => child.output))).map(
      (text) => JSON.parse(text) as { emitted: string[]; seen: string[] },
    );
    const tailed = JSON.parse(await tailer.output) as string[];

    const all = await listAll(bus, {}, start.event_id);
    const order = idsOf(all);
    expect(order).toHaveLength(total);
    expect(new Set(order).size).toBe(total);
    expect(tailed).toEqual(order);
    for (const report of reports) {
      expect(report.emitted).toHaveLength(PER_WRITER);
      // A writer read the log while others were still writing: what it saw is a prefix of the same order.
      expect(report.seen).toEqual(order.slice(0, report.seen.length));
    }
    const filtered = (predicate: (event: Event) => boolean) => idsOf(all.filter(predicate));
    for (let writer = 0; writer < WRITERS; writer++) {
      const flow = idsOf(await listAll(bus, { flow_id: `writer-${writer}` }, start.event_id));
      expect(flow).toEqual(filtered((event) => event.flow_id === `writer-${writer}`));
      expect(new Set(flow)).toEqual(new Set(reports[writer]?.emitted));
    }
    for (let session = 0; session < 5; session++) {
      const ids = idsOf(await listAll(bus, { session_id: `session-${session}` }, start.event_id));
      expect(ids).toHaveLength(total / 5);
      expect(ids).toEqual(filtered((event) => event.session_id === `session-${session}`));
    }
    for (const type of ["negotiation.round", "proposal.countered"] as const) {
      const ids = idsOf(await listAll(bus, { event_type: type }, start.event_id));
      expect(ids).toHaveLength(total / 2);
      expect(ids).toEqual(filtered((event) => event.event_type === type));
    }
    await bus.close();
  }, 120_000);

  it("creates the schema once when 4 processes start on an empty database at the same moment", async () => {
    const schema = uniqueName("first_use");
    schemas.push(schema);
    const children = Array.from({ length: 4 }, () =>
      startChild("postgres-first-use.ts", [PG_URL, schema, "seller_events"]),
    );
    await Promise.all(children.map((child) => printed(child, "ready")));
    for (const child of children) child.process.stdin?.write("go\n");
    const ids = (await Promise.all(children.map((child) => child.output))).map((text) =>
      text.trim().split("\n").at(-1),
    );

    const tablesFound = await pool.query("SELECT tablename FROM pg_tables WHERE schemaname = $1", [schema]);
    expect(tablesFound.rows.map((row) => row.tablename).sort()).toEqual(["seller_events", "seller_events_pruned"]);
    const indexes = await pool.query("SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1", [schema]);
    expect(indexes.rows.map((row) => row.indexname)).toEqual(
      [
        "seller_events_deal_id_pos",
        "seller_events_event_id_key",
        "seller_events_event_type_pos",
        "seller_events_flow_id_pos",
        "seller_events_flow_type_pos",
        "seller_events_position_key",
        "seller_events_proposal_id_pos",
        "seller_events_pruned_pkey",
        "seller_events_seq_key",
        "seller_events_session_id_pos",
        "seller_events_timestamp_pos",
        "seller_events_unpositioned",
      ].sort(),
    );
    const stored = await pool.query(`SELECT event_id::text AS id FROM "${schema}"."seller_events"`);
    expect(new Set(stored.rows.map((row) => row.id))).toEqual(new Set(ids));
    expect(stored.rows).toHaveLength(4);
  }, 60_000);
});
