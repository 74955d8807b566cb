import { EVENT_TYPES, type EventBus } from "ad-seller-events";
import { createEventsFetchHandler } from "ad-seller-events/http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Answer, fixtureBus, id, send, startServer, type TestServer } from "./harness.js";

/** Characters that make query strings and paths interesting: separators, escapes, dots, and plain text. */
const UNITS = [
  ..."%&=+,;/.?#-_~!$'()*:@",
  ..."09aAfFzZ",
  "%E0%A4%A",
  "%2F",
  "%2E",
  "%00",
  "%C3%A9",
  "%F0%9F%A4%9D",
  "..",
  "//",
];
const KEYS = ["limit", "event_type", "session_id", "flow_id", "since", "until", "after", "before", "deal_id", "x"];
const VALUES = ["", "1", "50", "1000", "1001", "0", "-1", "1e3", id(3), id(99), ...EVENT_TYPES.slice(0, 4)];

const text = fc.string({ unit: fc.constantFrom(...UNITS), maxLength: 12 });
const pair = fc.tuple(fc.oneof(fc.constantFrom(...KEYS), text), fc.oneof(fc.constantFrom(...VALUES), text));
const query = fc
  .array(
    fc.oneof(
      pair.map(([key, value]) => `${key}=${value}`),
      text,
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join("&"));
const path = fc.oneof(
  fc.constant("/events"),
  fc.constant("/events/"),
  text.map((segment) => `/events/${segment}`),
  fc.constantFrom(id(3), id(99)).map((eventId) => `/events/${eventId}`),
  text.map((segment) => `/${segment}`),
);
const method = fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "DELETE");

/** Every answer is a success or a client error with a problem document: never a 5xx, never a crash. */
function expectWellFormed(status: number, contentType: string | null, body: string, verb: string): void {
  expect(status === 200 || (status >= 400 && status < 500), `status ${status}: ${body}`).toBe(true);
  if (status === 200) {
    expect(contentType).toBe("application/json; charset=utf-8");
    if (verb !== "HEAD") expect(() => JSON.parse(body)).not.toThrow();
    return;
  }
  expect(contentType).toBe("application/problem+json; charset=utf-8");
  if (verb !== "HEAD") expect(JSON.parse(body)).toMatchObject({ status, type: "about:blank" });
}

describe("random requests", () => {
  let bus: EventBus;
  let server: TestServer;

  beforeAll(async () => {
    bus = await fixtureBus();
    server = await startServer("node:http", bus);
  });
  afterAll(async () => {
    await server.close();
    await bus.close();
  });

  it("the fetch handler answers every random path and query with 2xx or 4xx problem+json", async () => {
    const handler = createEventsFetchHandler(bus);
    await fc.assert(
      fc.asyncProperty(method, path, query, async (verb, requestPath, requestQuery) => {
        const response = await handler(new Request(`http://127.0.0.1${requestPath}?${requestQuery}`, { method: verb }));
        expectWellFormed(response.status, response.headers.get("content-type"), await response.text(), verb);
      }),
      { numRuns: 1000 },
    );
  });

  it("the node handler, over a socket, answers every random raw path and query the same way", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, async (verb, requestPath, requestQuery) => {
        const answer: Answer = await send(server.url, `${requestPath}?${requestQuery}`.replaceAll("#", "%23"), {
          method: verb,
        });
        const contentType = answer.headers["content-type"];
        expectWellFormed(answer.status, typeof contentType === "string" ? contentType : null, answer.text, verb);
      }),
      { numRuns: 300 },
    );
  });
});
