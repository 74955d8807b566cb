import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Event, EventBus } from "ad-seller-events";
import { createEventsHandler } from "ad-seller-events/http";
import { fromIabEvent, toIabEvent } from "ad-seller-events/interop";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(bus: EventBus): Promise<string> {
  const server = createServer(createEventsHandler(bus));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await bus.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
}

async function seeded(bus: EventBus) {
  return [
    await bus.emitEvent({ event_type: "approval.denied", deal_id: "d-1", payload: { why: "floor" } }),
    await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1", flow_id: "f-1" }),
  ];
}

describe("GET {base}?format=iab", () => {
  const openSqlite = loadAnySqlite();
  const stores = {
    memory: () => new EventBus(),
    // SQLite has the listJson fast path, which format=iab must not take.
    sqlite: async () =>
      new EventBus({
        storage: sqliteStorage({ database: (await openSqlite)(":memory:"), closeDatabase: true }),
        closeStorage: true,
      }),
  };
  for (const [name, open] of Object.entries(stores)) {
    it(`${name}: lists the IAB envelope in the same {"events": [...]} body`, async () => {
      const bus = await open();
      const events = await seeded(bus);
      const base = await serve(bus);
      const response = await fetch(`${base}?format=iab&deal_id=d-1`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { events: unknown[]; has_more: boolean };
      expect(body).toEqual({ events: events.map(toIabEvent), has_more: false });
      expect(body.events.map(fromIabEvent)).toEqual(events);
      const plain = (await (await fetch(`${base}?format=event`)).json()) as { events: unknown[] };
      expect(plain.events).toEqual(events);
      const one = await fetch(`${base}/${events[0]?.event_id}?format=iab`);
      expect(await one.json()).toEqual(toIabEvent(events[0] as Event));
    });
  }

  it("answers 400 for a bad or repeated format, on the list and the stream", async () => {
    const base = await serve(new EventBus());
    for (const path of [
      `${base}/${crypto.randomUUID()}?format=xml`,
      `${base}?format=xml`,
      `${base}?format=iab&format=iab`,
      `${base}/stream?format=cloudevents`,
    ]) {
      const response = await fetch(path);
      expect(response.status).toBe(400);
      const problem = (await response.json()) as { errors: { loc: string[] }[] };
      expect(problem.errors.map((error) => error.loc.join("."))).toContain("query.format");
    }
  });

  it("streams the IAB envelope from GET {base}/stream?format=iab", async () => {
    const bus = new EventBus();
    const base = await serve(bus);
    const source = new EventSource(`${base}/stream?format=iab`);
    cleanups.push(async () => source.close());
    const received: unknown[] = [];
    const two = new Promise<void>((resolve) => {
      source.onmessage = (message) => {
        received.push(JSON.parse(message.data));
        if (received.length === 2) resolve();
      };
    });
    await new Promise<void>((resolve) => (source.onopen = () => resolve()));
    const events = await seeded(bus);
    await two;
    expect(received).toEqual(events.map(toIabEvent));
  });
});
