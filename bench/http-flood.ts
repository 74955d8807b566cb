// Question: what do node:http's connection settings change against one client flooding or starving the events
// handler? Measured once for docs/hardening.md (not part of `npm run bench`, which compares ratios against floors):
//   npx tsx bench/http-flood.ts
// 1. Pipelining flood: one socket writes 5,000 pipelined GET /events?limit=50 at once and reads every answer.
// 2. Slow headers (slowloris): a socket sends its request line, then one header byte every 500 ms.
// 3. Idle keep-alive: a socket sends one request, reads the answer, then says nothing.
import { createServer, type Server, type ServerOptions } from "node:http";
import net from "node:net";
import { createEventsHandler } from "../src/http/index.js";
import { EventBus } from "../src/index.js";

const PIPELINED = 5000;

async function serve(bus: EventBus, options: ServerOptions, tune: (server: Server) => void = () => {}) {
  const server = createServer(options, createEventsHandler(bus));
  tune(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** Responses one socket gets for a burst of pipelined requests before the server closes it, and the time taken. */
async function flood(port: number): Promise<{ answered: number; refused: number; ms: number; megabytes: number }> {
  const socket = net.connect(port, "127.0.0.1");
  const started = performance.now();
  const chunks: Buffer[] = [];
  let lastByte = started;
  socket.write("GET /events?limit=50 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(PIPELINED));
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    lastByte = performance.now();
  });
  // Done when the server closes the socket, or when it has been silent for 4 s (it answered all and waits for more).
  const text = () => Buffer.concat(chunks).toString("latin1");
  await new Promise<void>((resolve) => {
    socket.on("close", () => resolve());
    const poll = setInterval(() => {
      if (performance.now() - lastByte > 4000) {
        clearInterval(poll);
        socket.destroy();
      }
    }, 100);
  });
  const all = text();
  return {
    answered: all.split("HTTP/1.1 200 OK").length - 1,
    refused: all.split("HTTP/1.1 503").length - 1,
    ms: lastByte - started,
    megabytes: all.length / 1e6,
  };
}

/** How long the server keeps a socket open: one that trickles headers, or one idle after an answer. */
async function heldOpen(port: number, mode: "slow-headers" | "idle", capMs: number): Promise<number | undefined> {
  const socket = net.connect(port, "127.0.0.1");
  const started = performance.now();
  socket.on("data", () => {});
  let timer: NodeJS.Timeout | undefined;
  if (mode === "slow-headers") {
    socket.write("GET /events HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    timer = setInterval(() => socket.write("a"), 500);
  } else socket.write("GET /events?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  const closed = await Promise.race([
    new Promise<number>((resolve) => socket.on("close", () => resolve(performance.now() - started))),
    new Promise<undefined>((resolve) => setTimeout(resolve, capMs)),
  ]);
  clearInterval(timer);
  socket.destroy();
  return closed;
}

const bus = new EventBus();
for (let index = 0; index < 50; index++) {
  await bus.emitEvent({ event_type: "negotiation.round", session_id: "s-1", payload: { round: index, cpm: 12.5 } });
}
const show = (ms: number | undefined, capMs: number) =>
  ms === undefined ? `still open after ${capMs / 1000} s` : `closed after ${(ms / 1000).toFixed(1)} s`;

const settings: [string, ServerOptions, (server: Server) => void][] = [
  ["node defaults", {}, () => {}],
  [
    "hardened",
    { requestTimeout: 10_000, headersTimeout: 5000, connectionsCheckingInterval: 1000 },
    (server) => {
      server.maxRequestsPerSocket = 100;
      server.keepAliveTimeout = 2000;
    },
  ],
];
for (const [name, options, tune] of settings) {
  const { server, port } = await serve(bus, options, tune);
  const burst = await flood(port);
  const slow = await heldOpen(port, "slow-headers", 15_000);
  const idle = await heldOpen(port, "idle", 15_000);
  console.log(
    `${name}: pipelined ${PIPELINED} -> ${burst.answered} answered, ${burst.refused} refused (503) on one socket ` +
      `(${burst.megabytes.toFixed(1)} MB in ${(burst.ms / 1000).toFixed(2)} s); ` +
      `slow headers: ${show(slow, 15_000)}; idle keep-alive: ${show(idle, 15_000)}`,
  );
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
await bus.close();
