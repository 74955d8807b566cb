// Question: how fast does the webhook dispatcher deliver, next to a bare loop of signed fetch calls, and does a set
// of dead endpoints slow the healthy ones? Throughput: N stored events delivered to a local receiver through 1 and
// through 100 subscriptions (each its own deal_id, so every event goes out once); the floor signs each event and
// POSTs it with fetch in a loop per subscription (1 loop, or 100 loops at once), on the same receiver in the same
// run. Isolation: 100 healthy subscriptions take every event of a paced stream; the p99 of emit-to-receipt latency (paced below saturation, so that it measures interference, not a queue)
// with 10 more subscriptions whose endpoint never answers, against the same without them.
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Event, EventBus, memoryStorage } from "../src/index.js";
import { createWebhookDispatcher, generateWebhookSecret } from "../src/webhooks/index.js";
import { quick, type ResultRow, report, speedRow, summarize } from "./harness.js";

const QUESTION = "webhooks";
const ROUNDS = quick ? 3 : 5;
const EVENTS = quick ? 1_000 : 4_000;
const PACED_EVENTS = quick ? 20 : 50;
const PACE_MS = 200;

/** A receiver answering 204 at once, or never on /dead; calls `onHook` with the path and webhook-id. */
async function startReceiver(onHook: (path: string, id: string) => void) {
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (request.url === "/dead") return;
      onHook(request.url ?? "", String(request.headers["webhook-id"]));
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function seeded(subscriptions: number): Promise<{ bus: EventBus; events: Event[] }> {
  const bus = new EventBus({ storage: memoryStorage() });
  const events = await bus.emitEvents(
    Array.from({ length: EVENTS }, (_, index) => ({
      event_type: "deal.created" as const,
      deal_id: `d-${index % subscriptions}`,
    })),
  );
  return { bus, events: [...events] };
}

/** µs per delivery of the dispatcher: from add() of every subscription until every event was received. */
async function dispatched(subscriptions: number): Promise<number> {
  const { bus } = await seeded(subscriptions);
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const receiver = await startReceiver(() => {
    if (++received === EVENTS) done();
  });
  const dispatcher = createWebhookDispatcher(bus, { allowPrivateNetworks: true, batchSize: 100 });
  const began = performance.now();
  for (let index = 0; index < subscriptions; index++)
    await dispatcher.add({
      url: receiver.url(`/s${index}`),
      secrets: generateWebhookSecret(),
      filter: { deal_id: `d-${index}` },
      from: "start",
    });
  await finished;
  const elapsed = performance.now() - began;
  await dispatcher.close();
  await bus.close();
  await receiver.close();
  return (elapsed * 1000) / EVENTS;
}

/** µs per delivery of the floor: per subscription, a loop that signs each event and awaits its fetch. */
async function bareLoop(subscriptions: number): Promise<number> {
  const { bus, events } = await seeded(subscriptions);
  const receiver = await startReceiver(() => {});
  const key = Buffer.from(generateWebhookSecret().slice(6), "base64");
  const began = performance.now();
  await Promise.all(
    Array.from({ length: subscriptions }, async (_, index) => {
      for (const event of events.filter((each) => each.deal_id === `d-${index}`)) {
        const body = JSON.stringify(event);
        const timestamp = Math.floor(Date.now() / 1000);
        const signature = createHmac("sha256", key).update(`${event.event_id}.${timestamp}.${body}`).digest("base64");
        const headers = {
          "content-type": "application/json",
          "webhook-id": event.event_id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": `v1,${signature}`,
        };
        const response = await fetch(receiver.url(`/s${index}`), { method: "POST", headers, body });
        await response.arrayBuffer();
      }
    }),
  );
  const elapsed = performance.now() - began;
  await bus.close();
  await receiver.close();
  return (elapsed * 1000) / EVENTS;
}

/** The healthy subscriptions' p99 emit-to-receipt latency (ms) for a paced stream, with `dead` hanging ones. */
async function healthyP99(dead: number): Promise<number> {
  const bus = new EventBus({ storage: memoryStorage() });
  const emittedAt = new Map<string, number>();
  const latencies: number[] = [];
  const receiver = await startReceiver((_path, id) =>
    latencies.push(performance.now() - (emittedAt.get(id) as number)),
  );
  const dispatcher = createWebhookDispatcher(bus, { allowPrivateNetworks: true, timeoutMs: 600_000 });
  for (let index = 0; index < 100 + dead; index++)
    await dispatcher.add({ url: receiver.url(index < 100 ? `/s${index}` : "/dead"), secrets: generateWebhookSecret() });
  for (let index = 0; index < PACED_EVENTS; index++) {
    const id = crypto.randomUUID();
    emittedAt.set(id, performance.now());
    await bus.emitEvent({ event_id: id, event_type: "deal.created" });
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  }
  while (latencies.length < PACED_EVENTS * 100) await new Promise((resolve) => setTimeout(resolve, 20));
  await dispatcher.close();
  await bus.close();
  await receiver.close();
  const sorted = latencies.sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.99)] as number;
}

const rows: ResultRow[] = [];
for (const subscriptions of [1, 100]) {
  const figure: number[] = [];
  const floor: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so that drift of a shared machine hits both alike.
    if (round % 2 === 0) figure.push(await dispatched(subscriptions));
    floor.push(await bareLoop(subscriptions));
    if (round % 2 === 1) figure.push(await dispatched(subscriptions));
  }
  rows.push(
    speedRow(
      QUESTION,
      `${subscriptions} subscription(s): dispatcher deliveries to a local receiver (per delivery)`,
      summarize("dispatcher", figure),
      `bare loop of signed fetch calls (${subscriptions} at once)`,
      summarize("fetch loop", floor),
      0.7,
    ),
  );
}
const withDead: number[] = [];
const without: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  without.push(await healthyP99(0));
  withDead.push(await healthyP99(10));
}
const p99With = summarize("with dead", withDead).medianUs;
const p99Without = summarize("without", without).medianUs;
rows.push({
  question: QUESTION,
  figure: "isolation: healthy p99 emit-to-receipt, 100 healthy + 10 hanging subscriptions",
  value: `${p99With.toFixed(1)} ms`,
  floor: "the same 100 healthy alone",
  floorValue: `${p99Without.toFixed(1)} ms`,
  ratio: p99With / p99Without,
  target: "<= 2x",
  met: p99With <= 2 * p99Without,
});
await report(QUESTION, rows, [
  `${EVENTS.toLocaleString("en")} deliveries per throughput round, ${ROUNDS} rounds, memory store`,
  `isolation: ${PACED_EVENTS} events ${PACE_MS} ms apart to every subscription, median of ${ROUNDS} rounds' p99`,
]);
