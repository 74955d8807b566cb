import { createServer, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import { type Event, EventBus, memoryStorage } from "ad-seller-events";
import { createEventsHandler } from "ad-seller-events/http";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import { countingStorage } from "../support/counting-storage.js";
import { startServer, type TestServer } from "./harness.js";

const KINDS = ["node:http", "express", "koa", "fetch (node:http bridge)", "fetch (hono)"] as const;
const ROUND = "negotiation.round" as const;

const servers: TestServer[] = [];
const buses: EventBus[] = [];

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(kind: (typeof KINDS)[number], options = {}, bus = new EventBus()) {
  buses.push(bus);
  const server = await startServer(kind, bus, options);
  servers.push(server);
  return { bus, url: `${server.url}/events/stream`, server };
}

/** Reads SSE frames from a fetch body until `count` events arrived; returns them with the raw text read. */
async function readFrames(response: Response, count: number): Promise<{ events: Event[]; ids: string[]; raw: string }> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let raw = "";
  const events: Event[] = [];
  const ids: string[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    raw += decoder.decode(value, { stream: true });
    const frames = raw.split("\n\n");
    events.length = 0;
    ids.length = 0;
    for (const frame of frames.slice(0, -1)) {
      const lines = frame.split("\n");
      const data = lines.filter((line) => line.startsWith("data: "));
      if (data.length === 0) continue;
      expect(data).toHaveLength(1);
      expect(lines.some((line) => line.startsWith("event:"))).toBe(false);
      ids.push((lines.find((line) => line.startsWith("id: ")) as string).slice(4));
      events.push(JSON.parse((data[0] as string).slice(6)) as Event);
    }
  }
  await reader.cancel();
  return { events, ids, raw };
}

/** Resolves once `condition()` holds, polling; the test's timeout fails it otherwise. */
async function eventually(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe.each(KINDS)("GET /events/stream on %s", (kind) => {
  it("streams each event as id + one data line, after a retry line, with the SSE headers", async () => {
    const { bus, url } = await serve(kind);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    const reading = readFrames(response, 3);
    const emitted = [];
    for (let index = 0; index < 3; index++) {
      emitted.push(await bus.emitEvent({ event_type: ROUND, payload: { index, text: "line\nbreak ü" } }));
    }
    const { events, ids, raw } = await reading;
    expect(raw.startsWith("retry: 3000\n\n")).toBe(true);
    expect(events).toEqual(emitted);
    expect(ids).toEqual(emitted.map((event) => event.event_id));
  });

  it("resumes after Last-Event-ID, which wins over after, and filters like GET /events", async () => {
    const { bus, url } = await serve(kind);
    const first = await bus.emitEvent({ event_type: ROUND, session_id: "s" });
    const second = await bus.emitEvent({ event_type: ROUND, session_id: "s" });
    await bus.emitEvent({ event_type: "deal.created", session_id: "s" });
    const third = await bus.emitEvent({ event_type: ROUND, session_id: "s" });
    const response = await fetch(`${url}?session_id=s&event_type=${ROUND}&after=${third.event_id}`, {
      headers: { "Last-Event-ID": first.event_id },
    });
    const { ids } = await readFrames(response, 2);
    expect(ids).toEqual([second.event_id, third.event_id]);
  });

  it("answers 400 problem+json before any stream byte for a bad query or unknown cursor, 401 first, 503 past maxStreams", async () => {
    const { url } = await serve(kind, {
      maxStreams: 1,
      authorize: (request: { headers: { get(name: string): string | null } }) => request.headers.get("x-key") !== "no",
    });
    const unknown = crypto.randomUUID();
    const cases: [string, Record<string, string>, string][] = [
      [`${url}?limit=5`, {}, "limit"],
      [`${url}?until=2026-01-01T00:00:00Z`, {}, "until"],
      [`${url}?before=${unknown}`, {}, "before"],
      [`${url}?event_type=nope`, {}, "event_type"],
      [`${url}?after=${unknown}`, {}, "after"],
      [url, { "Last-Event-ID": unknown }, "last-event-id"],
      [url, { "Last-Event-ID": "garbage" }, "last-event-id"],
    ];
    for (const [target, headers, field] of cases) {
      const response = await fetch(target, { headers });
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json; charset=utf-8");
      const body = (await response.json()) as { errors: { loc: string[] }[] };
      expect(body.errors.map((error) => error.loc[1])).toContain(field);
    }
    expect((await fetch(`${url}?after=${unknown}`, { headers: { "x-key": "no" } })).status).toBe(401);
    const open = await fetch(url);
    expect(open.status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    await open.body?.cancel();
  });

  it("sends keep-alive comments every heartbeatMs", async () => {
    const { url } = await serve(kind, { heartbeatMs: 20 });
    const response = await fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let raw = "";
    while ((raw.match(/: keep-alive\n\n/g) ?? []).length < 2) {
      raw += new TextDecoder().decode((await reader.read()).value);
    }
    await reader.cancel();
  });

  it("releases the tail, the timers and the slot of 50 clients that leave", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    const { url } = await serve(kind, { maxStreams: 50, heartbeatMs: 60_000 }, bus);
    const timersBefore = process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
    for (let round = 0; round < 2; round++) {
      const clients = await Promise.all(Array.from({ length: 50 }, () => fetch(url)));
      expect(clients.map((client) => client.status)).toEqual(Array(50).fill(200));
      expect(storage.watchers).toBe(1);
      await bus.emitEvent({ event_type: ROUND });
      await Promise.all(clients.map((client) => readFrames(client, 1)));
      // Every client has left: the shared reader and its watch go with the last tail, and 50 new clients fit again.
      await eventually(() => storage.watchers === 0);
      await eventually(() => storage.inFlight === 0);
    }
    await eventually(
      () => process.getActiveResourcesInfo().filter((name) => name === "Timeout").length <= timersBefore,
    );
  });
});

describe("GET /events/stream with real clients", () => {
  it("an EventSource gets every event once across a dropped connection, resuming with Last-Event-ID", async () => {
    const { bus, url, server } = await serve("node:http", { retryMs: 50 });
    const source = new EventSource(url);
    const received: string[] = [];
    const lastIds: (string | null)[] = [];
    source.onmessage = (message) => {
      received.push((JSON.parse(message.data) as Event).event_id);
      lastIds.push(message.lastEventId);
    };
    await new Promise((resolve) => {
      source.onopen = resolve;
    });
    const emitted: Event[] = [];
    for (let index = 0; index < 5; index++) emitted.push(await bus.emitEvent({ event_type: ROUND }));
    await eventually(() => received.length === 5);
    let reopened = 0;
    source.onopen = () => reopened++;
    server.server.closeAllConnections(); // the connection drops; the client reconnects after retry (50 ms)
    for (let index = 0; index < 5; index++) emitted.push(await bus.emitEvent({ event_type: ROUND }));
    await eventually(() => received.length >= 10);
    source.close();
    expect(reopened).toBeGreaterThanOrEqual(1);
    expect(received).toEqual(emitted.map((event) => event.event_id));
    expect(lastIds.at(-1)).toBe(emitted.at(-1)?.event_id);
  });

  it("a client that never reads costs bounded server memory, and leaving releases it", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    buses.push(bus);
    const handler = createEventsHandler(bus);
    const responses: ServerResponse[] = [];
    const server = createServer((req, res) => {
      responses.push(res);
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.pause(); // never reads a byte
    socket.write("GET /events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await eventually(() => storage.watchers === 1);
    const payload = { blob: "x".repeat(4000) };
    let mostBuffered = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all(Array.from({ length: 100 }, () => bus.emitEvent({ event_type: ROUND, payload })));
      await new Promise((resolve) => setImmediate(resolve));
      mostBuffered = Math.max(mostBuffered, (responses[0] as ServerResponse).writableLength);
    }
    const response = responses[0] as ServerResponse;
    // 16 MB were emitted; the response buffers its high-water mark plus one frame, never the backlog.
    expect(response.writableNeedDrain).toBe(true);
    expect(mostBuffered).toBeLessThanOrEqual(response.writableHighWaterMark + 8192);
    socket.destroy();
    await eventually(() => storage.watchers === 0 && storage.inFlight === 0);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
