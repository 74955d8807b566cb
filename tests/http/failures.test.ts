import { request } from "node:http";
import { EventBus, type EventStorage, memoryStorage, StorageError } from "ad-seller-events";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureBus, id, listedIds, SERVER_KINDS, seedFixture, send, startServer } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Storage whose reads reject while `failing` is set, like a database that went away and came back. */
function flakyStorage(): EventStorage & { failing: boolean } {
  const inner = memoryStorage();
  const storage = {
    name: "flaky",
    failing: false,
    append: inner.append,
    close: inner.close,
    get: (eventId: string) => (storage.failing ? Promise.reject(new Error("connection reset")) : inner.get(eventId)),
    list: (query: Parameters<EventStorage["list"]>[0]) =>
      storage.failing ? Promise.reject(new Error("connection reset")) : inner.list(query),
  };
  return storage;
}

describe.each(SERVER_KINDS)("storage failures on $kind", ({ kind }) => {
  it("a failing store answers 503 problem+json, reports to onError, and the server keeps serving", async () => {
    const storage = flakyStorage();
    const bus = await fixtureBus(storage);
    const errors: unknown[] = [];
    const server = await startServer(kind, bus, { onError: (error) => errors.push(error) });
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );

    storage.failing = true;
    for (const path of ["/events", `/events/${id(1)}`]) {
      const answer = await send(server.url, path);
      expect(answer.status).toBe(503);
      expect(answer.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(answer.json()).toMatchObject({ type: "about:blank", title: "Service Unavailable", status: 503 });
      expect(answer.text).not.toContain("connection reset");
    }
    expect(errors).toHaveLength(2);
    expect(errors.every((error) => error instanceof StorageError)).toBe(true);

    storage.failing = false;
    expect(listedIds(await send(server.url, "/events?limit=1"))).toEqual([id(8)]);
  });

  it("an onError that throws still gets a 503 answer", async () => {
    const storage = flakyStorage();
    const bus = await fixtureBus(storage);
    const server = await startServer(kind, bus, {
      onError: () => {
        throw new Error("logger broke");
      },
    });
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    storage.failing = true;
    const silenced = console.warn;
    console.warn = () => {};
    try {
      expect((await send(server.url, "/events")).status).toBe(503);
    } finally {
      console.warn = silenced;
    }
  });

  it("a closed bus answers 503", async () => {
    const bus = await fixtureBus();
    const errors: unknown[] = [];
    const server = await startServer(kind, bus, { onError: (error) => errors.push(error) });
    cleanups.push(() => server.close());
    await bus.close();
    expect((await send(server.url, "/events")).status).toBe(503);
    expect(errors).toHaveLength(1);
  });
});

describe("aborted requests", () => {
  it.each(SERVER_KINDS)("$kind survives a client that leaves while storage is answering", async ({ kind }) => {
    const inner = memoryStorage();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let listCalled!: () => void;
    const listing = new Promise<void>((resolve) => {
      listCalled = resolve;
    });
    let blockNext = false;
    const storage: EventStorage = {
      ...inner,
      name: "blocking",
      list: async (query) => {
        if (blockNext) {
          blockNext = false;
          listCalled();
          await released;
        }
        return inner.list(query);
      },
    };
    const bus = new EventBus({ storage });
    await seedFixture(bus);
    const server = await startServer(kind, bus);
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    cleanups.push(async () => {
      process.off("unhandledRejection", onRejection);
    });

    const serverSideClosed = new Promise<void>((resolve) =>
      server.server.once("connection", (socket) => socket.once("close", () => resolve())),
    );
    blockNext = true;
    const url = new URL(server.url);
    const outgoing = request({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname.replace(/\/$/, "")}/events`,
      agent: false,
    });
    outgoing.on("error", () => {});
    outgoing.end();
    await listing;
    outgoing.destroy();
    await serverSideClosed;
    release();

    // The next request is answered normally, after the aborted one's handler has run to its end.
    expect(listedIds(await send(server.url, "/events?limit=1"))).toEqual([id(8)]);
    expect(rejections).toEqual([]);
  });
});

describe("responses cut short", () => {
  it.each(SERVER_KINDS)("$kind survives a client that leaves in the middle of a 4 MB answer", async ({ kind }) => {
    const bus = new EventBus();
    const note = "x".repeat(4000);
    for (let index = 0; index < 1000; index++) await bus.emitEvent({ event_type: "deal.synced", payload: { note } });
    const server = await startServer(kind, bus);
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );

    const url = new URL(server.url);
    const cut = new Promise<number>((resolve, reject) => {
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          path: `${url.pathname.replace(/\/$/, "")}/events?limit=1000`,
          agent: false,
        },
        (incoming) => {
          incoming.once("data", (chunk: Buffer) => {
            outgoing.destroy();
            resolve(chunk.length);
          });
        },
      );
      outgoing.on("error", () => {});
      outgoing.once("response", (incoming) => incoming.once("error", reject));
      outgoing.end();
    });
    expect(await cut).toBeLessThan(4_000_000);
    expect(listedIds(await send(server.url, "/events?limit=1"))).toHaveLength(1);
  });
});

describe("oversized requests", () => {
  it("Node's default header limit answers a 100 KB query with 431 and keeps serving", async () => {
    const bus = await fixtureBus();
    const server = await startServer("node:http", bus, {}, {});
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    const answer = await send(server.url, `/events?flow_id=${"x".repeat(100 * 1024)}`);
    expect(answer.status).toBe(431);
    expect((await send(server.url, "/events?limit=1")).status).toBe(200);
  });

  it("the handler answers 414 for a long query when the server lets it through", async () => {
    const bus = await fixtureBus();
    const server = await startServer("node:http", bus);
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    const answer = await send(server.url, `/events?${"a=1&".repeat(3000)}`);
    expect(answer.status).toBe(414);
    expect(answer.json()).toMatchObject({
      title: "URI Too Long",
      detail: "The request URL is longer than 8192 characters",
    });
  });
});
