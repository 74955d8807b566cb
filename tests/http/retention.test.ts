// A cursor that named a pruned event answers 410 Gone over HTTP, with where the retained events start.
import { describe, expect, it } from "vitest";
import { createEventsFetchHandler } from "../../src/http/index.js";
import { type Event, EventBus, EventGapError, type EventStorage, memoryStorage } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";

const openSqlite = await loadAnySqlite();

const stores: [string, () => EventStorage][] = [
  ["memory", () => memoryStorage()],
  ["sqlite", () => sqliteStorage({ database: openSqlite(":memory:"), closeDatabase: true })],
];

describe.each(stores)("retention over HTTP on %s", (_name, createStorage) => {
  it("answers 410 problem+json naming the oldest retained event for a pruned cursor, 400 for an unknown one", async () => {
    const storage = createStorage();
    const bus = new EventBus({ storage, closeStorage: true });
    const old: Event[] = [];
    for (let index = 0; index < 5; index++) {
      old.push(
        await bus.emitEvent({ event_type: "session.created", timestamp: `2026-01-0${index + 1}T00:00:00.000Z` }),
      );
    }
    const audit = await bus.emitEvent({ event_type: "deal.created", timestamp: "2026-01-06T00:00:00.000Z" });
    const fresh = await bus.emitEvent({ event_type: "session.created", timestamp: "2026-02-01T00:00:00.000Z" });
    expect(await storage.prune?.({ before: "2026-01-31T00:00:00.000Z" })).toBe(5);

    const handler = createEventsFetchHandler(bus);
    for (const cursor of ["after", "before"]) {
      const response = await handler(new Request(`http://localhost/events?${cursor}=${old[2]?.event_id}`));
      expect(response.status).toBe(410);
      expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
      const body = await response.json();
      expect(body).toMatchObject({ type: "about:blank", title: "Gone", status: 410 });
      expect(body.oldest).toEqual({ event_id: audit.event_id, timestamp: audit.timestamp });
      expect(body.detail).toContain(old[2]?.event_id);
    }
    const unknown = await handler(new Request(`http://localhost/events?after=${crypto.randomUUID()}`));
    expect(unknown.status).toBe(400);
    const page = await (await handler(new Request(`http://localhost/events?after=${audit.event_id}`))).json();
    expect(page.events.map((event: Event) => event.event_id)).toEqual([fresh.event_id]);
    await expect(bus.listEvents({ before: old[0]?.event_id })).rejects.toBeInstanceOf(EventGapError);
    expect((await handler(new Request(`http://localhost/events/${old[0]?.event_id}`))).status).toBe(404);
    await bus.close();
  });
});
