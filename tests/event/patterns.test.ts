import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPES, EventBus, type EventType } from "../../src/index.js";
import { normalizeEventQuery } from "../../src/storage/index.js";
import { startServer, type TestServer } from "../http/harness.js";

const DEAL_TYPES = ["deal.created", "deal.registered", "deal.synced"];

async function busWithOneOfEach(): Promise<EventBus> {
  const bus = new EventBus();
  await bus.emitEvents(EVENT_TYPES.map((event_type: EventType) => ({ event_type, session_id: "s" })));
  return bus;
}

describe("one pattern language", () => {
  it("expands patterns in normalizeEventQuery, so storage still gets event_types", () => {
    expect(normalizeEventQuery({ event_type: "deal.*" }).event_types).toEqual(DEAL_TYPES);
    expect(normalizeEventQuery({ event_type: ["session.closed", "deal.*", "deal.synced"] }).event_types).toEqual([
      "session.closed",
      ...DEAL_TYPES,
    ]);
    // Every type is no type filter at all.
    expect(normalizeEventQuery({ event_type: "*" }).event_types).toBeUndefined();
    expect(normalizeEventQuery({ event_type: ["deal.*", "*"] }).event_types).toBeUndefined();
  });

  it("lists by a group, by everything, and by a mix of types and groups", async () => {
    const bus = await busWithOneOfEach();
    const types = async (event_type: Parameters<typeof bus.listEvents>[0]) =>
      (await bus.listEvents(event_type)).map((event) => event.event_type);
    expect(await types({ event_type: "deal.*" })).toEqual(DEAL_TYPES);
    expect(await types({ event_type: "*" })).toEqual(EVENT_TYPES);
    expect(await types({ event_type: ["execution.completed", "deal.*"] })).toEqual([
      ...DEAL_TYPES,
      "execution.completed",
    ]);
  });

  it("subscribe, listEvents and the test matchers agree on what a pattern means", async () => {
    const bus = new EventBus();
    const delivered: string[] = [];
    bus.subscribe("approval.*", (event) => {
      delivered.push(event.event_type);
    });
    await bus.emitEvents(EVENT_TYPES.map((event_type) => ({ event_type })));
    const listed = (await bus.listEvents({ event_type: "approval.*" })).map((event) => event.event_type);
    expect(delivered).toEqual(listed);
    expect(listed).toHaveLength(4);
  });

  it("names a bad pattern with the closest one", () => {
    expect(() => normalizeEventQuery({ event_type: ["deal.*", "deals.*"] })).toThrow(
      '[ad-seller-events] event_type[1]: "deals.*" is not an event type or pattern; did you mean "deal.*"?',
    );
  });
});

describe("GET /events?event_type= with patterns", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer("node:http", await busWithOneOfEach());
  });
  afterAll(() => server.close());

  const typesAt = async (query: string) => {
    const response = await fetch(`${server.url}/events?${query}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { events: { event_type: string }[] };
    return body.events.map((event) => event.event_type);
  };

  it("accepts a group, repeated and comma-listed values, mixing types and patterns", async () => {
    expect(await typesAt("event_type=deal.*")).toEqual(DEAL_TYPES);
    expect(await typesAt("event_type=deal.*&event_type=session.created")).toEqual([...DEAL_TYPES, "session.created"]);
    expect(await typesAt("event_type=session.closed,deal.*")).toEqual([...DEAL_TYPES, "session.closed"]);
    expect(await typesAt("event_type=*&limit=100")).toEqual(EVENT_TYPES);
  });

  it("answers a maximal 8 KB query full of bad event_types with a 400 of a few KB that counts them", async () => {
    const values = Array.from({ length: 1100 }, (_, index) => `bad${index}`);
    const query = `event_type=${values.join(",")}`.slice(0, 8000);
    const count = query.split(",").length;
    const { status, body } = await rawGet(server.url, `/events?${query}`);
    expect(status).toBe(400);
    expect(Buffer.byteLength(body)).toBeLessThan(6 * 1024);
    const problem = JSON.parse(body) as { errors: { loc: string[]; msg: string }[]; detail: string };
    expect(problem.errors).toHaveLength(21);
    expect(problem.errors.at(-1)?.msg).toBe(`and ${count - 20} more problems (only the first 20 are listed)`);
    expect(body).not.toContain("negotiation.concluded");
  });
});

/** A GET over a real socket, reading the raw body. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: "GET" }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}
