import type { IncomingMessage } from "node:http";
import { type EventStorage, memoryStorage } from "ad-seller-events";
import type { EventsHttpRequest } from "ad-seller-events/http";
import { afterEach, describe, expect, it } from "vitest";
import { fixtureBus, id, SERVER_KINDS, send, startServer } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Memory storage that counts reads, to prove a refused request never reaches the store. */
function countingStorage(): EventStorage & { reads: number } {
  const inner = memoryStorage();
  const storage = {
    name: "counting",
    reads: 0,
    append: inner.append,
    close: inner.close,
    get: (eventId: string) => {
      storage.reads++;
      return inner.get(eventId);
    },
    list: (query: Parameters<EventStorage["list"]>[0]) => {
      storage.reads++;
      return inner.list(query);
    },
  };
  return storage;
}

describe.each(SERVER_KINDS)("authorize on $kind", ({ kind }) => {
  async function serveWith(authorize: (request: EventsHttpRequest) => boolean | Promise<boolean>) {
    const storage = countingStorage();
    const bus = await fixtureBus(storage);
    const onError: unknown[] = [];
    const server = await startServer(kind, bus, { authorize, onError: (error) => onError.push(error) });
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    return { server, storage, onError };
  }

  it("false answers 401 problem+json before any lookup: known and unknown ids alike", async () => {
    const { server, storage } = await serveWith(() => false);
    const paths = [`/events/${id(1)}`, `/events/${id(99)}`, "/events", "/events?limit=abc", "/events/not-an-id"];
    for (const path of paths) {
      const answer = await send(server.url, path);
      expect(answer.status, path).toBe(401);
      expect(answer.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(answer.headers["cache-control"]).toBe("no-store");
      expect(answer.json()).toMatchObject({ type: "about:blank", title: "Unauthorized", status: 401 });
    }
    expect((await send(server.url, "/events", { method: "DELETE" })).status).toBe(401);
    expect(storage.reads).toBe(0);
  });

  it("an async check sees method, path, url and case-insensitive headers", async () => {
    const seen: EventsHttpRequest[] = [];
    const { server } = await serveWith(async (request) => {
      seen.push(request);
      return request.headers.get("X-Api-Key") === "s3cret";
    });
    expect((await send(server.url, `/events?limit=1`, { headers: { "x-api-key": "wrong" } })).status).toBe(401);
    const allowed = await send(server.url, `/events/${id(2)}?x=1`, { headers: { "x-api-key": "s3cret" } });
    expect(allowed.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ method: "GET", path: `/events/${id(2)}`, url: `/events/${id(2)}?x=1` });
    expect(seen.at(-1)?.headers.get("missing-header")).toBeNull();
    expect(seen.at(-1)?.native).toBeTruthy();
  });

  it("a check that throws answers 500 and reports the error", async () => {
    const failure = new Error("key service down");
    const { server, onError } = await serveWith(() => {
      throw failure;
    });
    const answer = await send(server.url, "/events");
    expect(answer.status).toBe(500);
    expect(answer.json()).toMatchObject({ status: 500, title: "Internal Server Error" });
    expect(answer.text).not.toContain("key service down");
    expect(onError).toEqual([failure]);
  });
});

it("the node handler's authorize gets the IncomingMessage as native", async () => {
  const bus = await fixtureBus();
  let native: IncomingMessage | undefined;
  const server = await startServer("node:http", bus, {
    authorize: (request) => {
      native = request.native as IncomingMessage;
      return true;
    },
  });
  cleanups.push(
    () => bus.close(),
    () => server.close(),
  );
  await send(server.url, "/events", { headers: { "x-trace": "t-1" } });
  expect(native?.headers["x-trace"]).toBe("t-1");
});
