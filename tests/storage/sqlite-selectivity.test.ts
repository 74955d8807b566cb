import { describe, expect, it } from "vitest";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { StatementCache } from "../../src/storage/sqlite/sqlite-driver.js";
import { buildListStatement } from "../../src/storage/sqlite/sqlite-list.js";
import { chooseDriver } from "../../src/storage/sqlite/sqlite-list-plan.js";
import type { NormalizedEventQuery } from "../../src/storage/types.js";
import { buildEvent, loadBetterSqlite3, planOf } from "../support/sqlite.js";

const open = await loadBetterSqlite3();

describe.runIf(open !== undefined)("sqlite chooses the driving index from capped counts", () => {
  it("drives a common flow_type with a rare or absent type, or a recent since, by the narrow side", async () => {
    const database = (open as NonNullable<typeof open>)(":memory:");
    const storage = sqliteStorage({ database });
    const common = Array.from({ length: 3000 }, (_, index) =>
      buildEvent({
        flow_type: "deal_generation",
        event_type: "negotiation.round",
        timestamp: `2026-01-01T00:00:${String(index % 60).padStart(2, "0")}.000Z`,
      }),
    );
    const rare = [
      buildEvent({ flow_type: "deal_generation", event_type: "deal.synced", timestamp: "2026-02-01T00:00:00.000Z" }),
    ];
    await storage.append([...rare, ...common]);
    const statements = new StatementCache(database);
    const cases: [NormalizedEventQuery, string | undefined][] = [
      [{ flow_type: "deal_generation", event_types: ["deal.synced"], limit: 6 }, "event_type"],
      [{ flow_type: "deal_generation", event_types: ["approval.denied"], limit: 6 }, "event_type"],
      [{ flow_type: "deal_generation", event_types: ["deal.synced", "approval.denied"], limit: 6 }, "event_type"],
      [{ flow_type: "deal_generation", since: "2026-01-15T00:00:00.000Z", limit: 6 }, "timestamp"],
      [{ since: "2026-01-15T00:00:00.000Z", limit: 6 }, "timestamp"],
      // Nothing narrow: every probe reaches its cap and the static order decides (a time range alone: the log).
      [{ flow_type: "deal_generation", event_types: ["negotiation.round"], limit: 6 }, "event_type"],
      [{ since: "2025-01-01T00:00:00.000Z", limit: 6 }, undefined],
    ];
    for (const [query, expected] of cases) {
      const driver = chooseDriver(statements, "events", query, {});
      expect(driver, JSON.stringify(query)).toBe(expected);
      const plan = planOf(database, buildListStatement("events", query, {}, driver));
      if (expected === "event_type") expect(plan).toMatch(/USING (COVERING )?INDEX events_event_type_seq/);
      if (expected === "timestamp") expect(plan).toMatch(/USING INDEX events_timestamp_seq/);
      expect(plan).not.toMatch(/events_flow_type_seq/);
      // The answer is the same whichever index drives.
      const listed = await storage.list(query);
      const expectedIds = [...rare, ...common]
        .filter(
          (event) =>
            (query.event_types === undefined || query.event_types.includes(event.event_type)) &&
            (query.since === undefined || event.timestamp >= query.since),
        )
        .slice(-query.limit)
        .map((event) => event.event_id);
      expect(listed.map((event) => event.event_id)).toEqual(expectedIds);
    }
    await storage.close();
    database.close();
  });
});
