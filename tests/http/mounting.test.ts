import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBus, EventValidationError } from "ad-seller-events";
import { createEventsFetchHandler, createEventsHandler } from "ad-seller-events/http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureBus, id, listedIds, send, startServer, type TestServer } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function serve(kind: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const bus = await fixtureBus();
  const server = await startServer(kind, bus);
  cleanups.push(
    () => bus.close(),
    () => server.close(),
  );
  return server;
}

describe("paths outside basePath", () => {
  it.each(["express", "express under /api", "koa", "fetch (hono)"] as const)(
    "%s passes them to the next handler",
    async (kind) => {
      const server = await serve(kind);
      const answer = await send(server.url, "/after");
      expect(answer.status).toBe(200);
      expect(answer.text).toBe("fell through");
    },
  );

  it.each(["node:http", "fetch (node:http bridge)"] as const)(
    "%s with nothing to fall through to answers 404 problem+json",
    async (kind) => {
      const server = await serve(kind);
      for (const path of ["/after", "/eventsx", "/", "/EVENTS"]) {
        const answer = await send(server.url, path);
        expect(answer.status).toBe(404);
        expect(answer.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
        expect(answer.json()).toMatchObject({
          status: 404,
          detail: "Nothing is served here; the events API is at /events",
        });
      }
    },
  );

  it("the node handler calls next() for outside paths only", async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const handler = createEventsHandler(bus);
    const nextCalls: string[] = [];
    const url = await listen((req, res) =>
      handler(req, res, () => {
        nextCalls.push(req.url ?? "");
        res.end("next");
      }),
    );
    expect((await send(url, "/elsewhere?limit=abc")).text).toBe("next");
    expect((await send(url, "/events?limit=1")).status).toBe(200);
    expect((await send(url, "/events/nope")).status).toBe(404);
    expect(nextCalls).toEqual(["/elsewhere?limit=abc"]);
  });
});

describe("Express mounting", () => {
  it("app.use(handler) serves /events at the root", async () => {
    const server = await serve("express");
    expect(listedIds(await send(server.url, "/events?limit=1"))).toEqual([id(8)]);
  });

  it('app.use("/api", handler) serves /api/events: basePath is relative to the mount path (req.url)', async () => {
    const server = await serve("express under /api");
    const root = server.url.replace(/\/api$/, "");
    expect(listedIds(await send(root, "/api/events?limit=1"))).toEqual([id(8)]);
    expect((await send(root, `/api/events/${id(2)}`)).status).toBe(200);
    // Outside the prefix the handler is never reached; Express answers its own 404.
    const outside = await send(root, "/events");
    expect(outside.status).toBe(404);
    expect(outside.headers["content-type"]).toMatch(/^text\/html/);
  });

  it('app.use("/events", handler) works with basePath "/"', async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const app = express();
    app.use("/events", createEventsHandler(bus, { basePath: "/" }));
    const url = await listen(app);
    expect(listedIds(await send(url, "/events?limit=2"))).toEqual([id(7), id(8)]);
    expect((await send(url, `/events/${id(1)}`)).json()).toMatchObject({ event_id: id(1) });
  });
});

describe("options", () => {
  it("a custom basePath moves both routes", async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const handler = createEventsHandler(bus, { basePath: "/api/v2/events/" });
    const url = await listen((req, res) => handler(req, res));
    expect(listedIds(await send(url, "/api/v2/events?limit=1"))).toEqual([id(8)]);
    expect((await send(url, `/api/v2/events/${id(1)}`)).status).toBe(200);
    expect((await send(url, "/events")).status).toBe(404);
  });

  it("maxLimit lowers the largest limit and the message says so", async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const handler = createEventsHandler(bus, { maxLimit: 5 });
    const url = await listen((req, res) => handler(req, res));
    expect(listedIds(await send(url, "/events?limit=5"))).toHaveLength(5);
    const tooMany = await send(url, "/events?limit=6");
    expect(tooMany.status).toBe(400);
    expect(tooMany.json()).toMatchObject({
      errors: [{ loc: ["query", "limit"], msg: "must be an integer from 1 to 5, got 6" }],
    });
  });

  it.each([
    ["basePath", { basePath: "events" }],
    ["basePath", { basePath: "/events?x=1" }],
    ["basePath", { basePath: "/my events" }],
    ["maxLimit", { maxLimit: 0 }],
    ["maxLimit", { maxLimit: 1001 }],
    ["maxLimit", { maxLimit: 2.5 }],
  ])("a bad %s is refused when the handler is created", (field, options) => {
    const bus = new EventBus();
    for (const create of [createEventsHandler, createEventsFetchHandler]) {
      expect(() => create(bus, options)).toThrow(EventValidationError);
      expect(() => create(bus, options)).toThrow(field);
    }
  });
});

describe("fetch handler without a server", () => {
  it("answers a Web Request, as a Next.js route handler would call it", async () => {
    const bus = await fixtureBus();
    cleanups.push(() => bus.close());
    const handler = createEventsFetchHandler(bus, { basePath: "/api/events" });
    const list = await handler(new Request("https://seller.example/api/events?event_type=deal.synced"));
    expect(list.status).toBe(200);
    expect(list.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await list.json()).toMatchObject({ events: [{ event_id: id(8) }], has_more: false });
    const head = await handler(new Request(`https://seller.example/api/events/${id(8)}`, { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await handler(new Request("https://seller.example/other"))).status).toBe(404);
  });
});

describe("the ad-seller-events/http entry", () => {
  it("loads no web framework: every module it reaches imports only node:*, zod, nanoid or the package's own files", () => {
    const root = fileURLToPath(new URL("../../src/", import.meta.url));
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      // Type-only imports vanish at runtime, so only value imports count.
      for (const match of source.matchAll(/^(?:import|export) (?!type )(?:[^;]*? from )?"([^"]+)";/gm)) {
        const specifier = match[1] as string;
        if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
        else external.add(specifier);
      }
    };
    visit(join(root, "http/index.ts"));
    expect(seen.size).toBeGreaterThan(5);
    expect([...external].filter((name) => !/^(node:|zod$|nanoid$)/.test(name))).toEqual([]);
  });
});
