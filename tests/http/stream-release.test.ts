import net from "node:net";
import { EventBus, memoryStorage } from "ad-seller-events";
import { afterEach, describe, expect, it } from "vitest";
import { countingStorage } from "../support/counting-storage.js";
import { startServer, type TestServer } from "./harness.js";

// Issue 19: a client that left was noticed only at the next heartbeat write (15 s by default), holding a
// maxStreams slot and a tail meanwhile. Each way of leaving must release the stream within a second.
const KINDS = ["node:http", "express", "koa", "fetch (node:http bridge)", "fetch (hono)"] as const;
const CLIENTS = 20;
const RELEASE_BUDGET_MS = 1000;

const servers: TestServer[] = [];
const buses: EventBus[] = [];

afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A client that has the stream open and has read its first bytes; `leave` closes it one way. */
interface OpenClient {
  leave(): void;
}

async function openFetch(url: string, how: "abort" | "cancel"): Promise<OpenClient> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the retry: line
  return {
    leave: () => {
      if (how === "abort") controller.abort();
      else void reader.cancel();
    },
  };
}

/** A raw socket that sends the request, reads the head, then closes gracefully (FIN, no reset). */
function openRawFin(url: string): Promise<OpenClient> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.once("error", reject);
    socket.once("data", (chunk: Buffer) => {
      expect(chunk.toString("latin1")).toMatch(/^HTTP\/1.1 200/);
      socket.on("data", () => {});
      resolve({ leave: () => socket.end() });
    });
  });
}

/** Polls `condition` until it holds or `budgetMs` has passed; true when it held in time. */
async function heldWithin(budgetMs: number, condition: () => boolean): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

describe.each(KINDS)("GET /events/stream on %s releases a client that leaves", (kind) => {
  it.each(["abort", "cancel", "fin"] as const)("within a second when it leaves by %s", async (how) => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    buses.push(bus);
    const server = await startServer(kind, bus, { heartbeatMs: 60_000, maxStreams: CLIENTS });
    servers.push(server);
    const url = `${server.url}/events/stream`;
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => (how === "fin" ? openRawFin(url) : openFetch(url, how))),
    );
    expect(storage.watchers).toBe(1);
    for (const client of clients) client.leave();
    // The last tail to go stops the shared reader and its watch: every stream was released.
    // (Idle keep-alive sockets the fetch client opened beside the streams may stay until keepAliveTimeout: they
    // hold no stream, so the count that matters is the streams', seen through their tails and slots.)
    expect(await heldWithin(RELEASE_BUDGET_MS, () => storage.watchers === 0)).toBe(true);
    const again = await fetch(url);
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });
});
