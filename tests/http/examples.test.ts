import { EventBus } from "ad-seller-events";
import { afterEach, describe, expect, it } from "vitest";
import { startExpressServer } from "../../examples/express/server.js";
import { startFetchServer } from "../../examples/fetch/server.js";
import { startKoaServer } from "../../examples/koa/server.js";
import { startNodeHttpServer } from "../../examples/node-http/server.js";
import { listedIds, runScript, send } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function busWithOneEvent() {
  const bus = new EventBus();
  const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "deal-1" });
  cleanups.push(() => bus.close());
  return { bus, event };
}

const EXAMPLES = [
  { name: "node-http", start: startNodeHttpServer, eventsPath: "/events", health: undefined },
  { name: "express", start: startExpressServer, eventsPath: "/api/events", health: "/health" },
  { name: "koa", start: startKoaServer, eventsPath: "/events", health: "/health" },
  { name: "fetch", start: startFetchServer, eventsPath: "/events", health: "/health" },
] as const;

describe.each(EXAMPLES)("examples/$name", ({ name, start, eventsPath, health }) => {
  it("its start function serves the events routes next to the app's own", async () => {
    const { bus, event } = await busWithOneEvent();
    const server = await start(bus, { port: 0 });
    cleanups.push(() => server.close());
    expect(listedIds(await send(server.url, eventsPath))).toEqual([event.event_id]);
    expect((await send(server.url, `${eventsPath}/${event.event_id}`)).json()).toMatchObject({ deal_id: "deal-1" });
    if (health !== undefined) expect((await send(server.url, health)).json()).toEqual({ status: "ok" });
  });

  it(`npx tsx examples/${name}/server.ts starts and answers`, async () => {
    const script = await runScript(`examples/${name}/server.ts`, { env: { PORT: "0" }, ready: /curl[^\n]*\/events\n/ });
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(script.output())?.[1] as string;
    const answer = await send(url, eventsPath);
    expect(answer.status).toBe(200);
    expect(listedIds(answer)).toHaveLength(1);
    await script.stop();
  });
});

it("the Express example requires x-api-key when given an API key", async () => {
  const { bus } = await busWithOneEvent();
  const server = await startExpressServer(bus, { port: 0, apiKey: "s3cret" });
  cleanups.push(() => server.close());
  expect((await send(server.url, "/api/events")).status).toBe(401);
  expect((await send(server.url, "/api/events", { headers: { "x-api-key": "s3cret" } })).status).toBe(200);
  expect((await send(server.url, "/health")).status).toBe(200);
});
