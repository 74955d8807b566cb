import { EventBus, memoryStorage } from "ad-seller-events";
import { afterEach, describe, expect, it } from "vitest";
import { send, startServer, type TestServer } from "./harness.js";

// Issue 19: a pruned Last-Event-ID answered 400 "no stored event" (GET /events answered 410), and 2,000 bad
// parameters gave a 292 KB error body on the stream route (3 KB on /events).
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(bus: EventBus): Promise<string> {
  const server = await startServer("node:http", bus);
  servers.push(server);
  return server.url;
}

describe("GET /events/stream and retention", () => {
  it("answers 410 problem+json with oldest, before any stream byte, for a pruned Last-Event-ID or after", async () => {
    const storage = memoryStorage();
    const bus = new EventBus({ storage });
    const url = await serve(bus);
    const pruned = await bus.emitEvent({ event_type: "session.resumed" });
    const kept = await bus.emitEvent({ event_type: "deal.created" });
    await storage.prune?.({ before: new Date(Date.now() + 60_000) });
    for (const request of [
      { path: "/events/stream", headers: { "last-event-id": pruned.event_id } },
      { path: `/events/stream?after=${pruned.event_id}`, headers: {} },
    ]) {
      const answer = await send(url, request.path, { headers: request.headers });
      expect(answer.status).toBe(410);
      expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect((answer.json() as { oldest: unknown }).oldest).toEqual({
        event_id: kept.event_id,
        timestamp: kept.timestamp,
      });
    }
    await bus.close();
  });

  it("caps the error body of 2,000 bad parameters like GET /events does", async () => {
    const bus = new EventBus();
    const url = await serve(bus);
    const query = `event_type=${Array.from({ length: 2000 }, (_, index) => String.fromCharCode(97 + (index % 26))).join(",")}`;
    const list = await send(url, `/events?${query}`);
    const stream = await send(url, `/events/stream?${query}`);
    expect([list.status, stream.status]).toEqual([400, 400]);
    expect(stream.body.length).toBeLessThan(4 * list.body.length);
    expect(stream.body.length).toBeLessThan(8_000);
    await bus.close();
  });
});
