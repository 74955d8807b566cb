import type { EventBus } from "ad-seller-events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Answer,
  fixtureBus,
  id,
  listedIds,
  SERVER_KINDS,
  SESSION_A,
  SESSION_B,
  send,
  startServer,
  type TestServer,
} from "./harness.js";

/** One row of the DESIGN section 7 table, run unchanged against every server kind. */
interface RouteCase {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  readonly status: number;
  /** Body checks beyond the shared header checks; `answer` is what the client received. */
  readonly check?: (answer: Answer) => void;
  /** Skip the problem+json checks: the answer may come from the host app rather than the handler. */
  readonly anyNotFound?: boolean;
}

const list =
  (ids: number[], hasMore = false) =>
  (answer: Answer) => {
    expect(listedIds(answer)).toEqual(ids.map(id));
    expect((answer.json() as { has_more: boolean }).has_more).toBe(hasMore);
  };

const LIST_CASES: RouteCase[] = [
  {
    name: "GET /events lists every event, oldest first",
    path: "/events",
    status: 200,
    check: list([1, 2, 3, 4, 5, 6, 7, 8]),
  },
  {
    name: "GET /events/ (one trailing slash) is the list",
    path: "/events/",
    status: 200,
    check: list([1, 2, 3, 4, 5, 6, 7, 8]),
  },
  {
    name: "limit gives the newest events and has_more",
    path: "/events?limit=3",
    status: 200,
    check: list([6, 7, 8], true),
  },
  { name: "limit=1000 is accepted", path: "/events?limit=1000", status: 200, check: list([1, 2, 3, 4, 5, 6, 7, 8]) },
  { name: "flow_id filters", path: "/events?flow_id=flow-b", status: 200, check: list([5, 8]) },
  { name: "flow_type filters", path: "/events?flow_type=booking", status: 200, check: list([5, 8]) },
  { name: "session_id filters", path: `/events?session_id=${SESSION_B}`, status: 200, check: list([6, 7]) },
  { name: "proposal_id filters", path: "/events?proposal_id=prop-1", status: 200, check: list([2, 3, 4]) },
  { name: "deal_id filters", path: "/events?deal_id=deal-1", status: 200, check: list([5, 8]) },
  { name: "event_type filters", path: "/events?event_type=negotiation.round", status: 200, check: list([3, 4]) },
  {
    name: "event_type repeats",
    path: "/events?event_type=session.created&event_type=deal.synced",
    status: 200,
    check: list([1, 6, 8]),
  },
  {
    name: "event_type takes a comma list",
    path: "/events?event_type=session.created,deal.synced",
    status: 200,
    check: list([1, 6, 8]),
  },
  {
    name: "event_type mixes repeats and comma lists",
    path: "/events?event_type=session.created,%20deal.created&event_type=deal.synced",
    status: 200,
    check: list([1, 5, 6, 8]),
  },
  { name: "since is inclusive", path: "/events?since=2026-11-24T10:05:00Z", status: 200, check: list([6, 7, 8]) },
  { name: "until is exclusive", path: "/events?until=2026-11-24T10:02:00Z", status: 200, check: list([1, 2]) },
  {
    name: "since takes a %2B offset",
    path: "/events?since=2026-11-24T12:05:00%2B02:00",
    status: 200,
    check: list([6, 7, 8]),
  },
  {
    name: "filters are ANDed",
    path: `/events?session_id=${SESSION_A}&event_type=deal.created,deal.synced,session.created&flow_type=booking`,
    status: 200,
    check: list([5, 8]),
  },
  { name: "after tails", path: `/events?after=${id(6)}`, status: 200, check: list([7, 8]) },
  {
    name: "after with limit reports has_more",
    path: `/events?after=${id(2)}&limit=2`,
    status: 200,
    check: list([3, 4], true),
  },
  { name: "before pages back", path: `/events?before=${id(4)}`, status: 200, check: list([1, 2, 3]) },
  {
    name: "before with limit reports has_more",
    path: `/events?before=${id(8)}&limit=2`,
    status: 200,
    check: list([6, 7], true),
  },
  { name: "unknown query keys are ignored", path: "/events?foo=bar&limit=1&x", status: 200, check: list([8], true) },
  {
    name: "empty filters mean no filter",
    path: "/events?session_id=&event_type=&since=",
    status: 200,
    check: list([1, 2, 3, 4, 5, 6, 7, 8]),
  },
  { name: "values are percent-decoded", path: "/events?flow_id=flow%2Da", status: 200, check: list([1, 2, 3, 4]) },
];

const ITEM_CASES: RouteCase[] = [
  {
    name: "GET /events/{id} answers the event",
    path: `/events/${id(3)}`,
    status: 200,
    check: (answer) =>
      expect(answer.json()).toEqual({
        event_id: id(3),
        event_type: "negotiation.round",
        timestamp: "2026-11-24T10:02:00.000Z",
        flow_id: "flow-a",
        flow_type: "",
        proposal_id: "prop-1",
        deal_id: "",
        session_id: SESSION_A,
        payload: { n: 3, note: "prix négocié ✓ 🤝" },
        metadata: {},
      }),
  },
  {
    name: "an upper-case id finds the event",
    path: `/events/${id(3).toUpperCase()}`,
    status: 200,
    check: (answer) => expect((answer.json() as { event_id: string }).event_id).toBe(id(3)),
  },
  {
    name: "a trailing slash after the id is ignored",
    path: `/events/${id(3)}/`,
    status: 200,
    check: (answer) => expect((answer.json() as { event_id: string }).event_id).toBe(id(3)),
  },
  {
    name: "an unknown id is 404 Event not found",
    path: "/events/0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e",
    status: 404,
    check: eventNotFound,
  },
  { name: "a non-UUID id is 404 Event not found", path: "/events/not-an-id", status: 404, check: eventNotFound },
  {
    name: "a 300-character id is 404 Event not found",
    path: `/events/${"a".repeat(300)}`,
    status: 404,
    check: eventNotFound,
  },
  { name: "/events//x is 404 Event not found", path: "/events//x", status: 404, check: eventNotFound },
  { name: "/events/a/b is 404 Event not found", path: "/events/a/b", status: 404, check: eventNotFound },
  {
    // node, Express and Koa pass the path as sent (the handler owns it: 404 Event not found); fetch runtimes
    // resolve `..` while parsing the URL, so `/admin` reaches the host app, which has no such route.
    name: "/events/../admin never serves outside basePath",
    path: "/events/../admin",
    status: 404,
    anyNotFound: true,
    check: (answer) => expect(answer.text).not.toContain('"events"'),
  },
  {
    name: "/events/%2E%2E/admin never serves outside basePath",
    path: "/events/%2E%2E/admin",
    status: 404,
    anyNotFound: true,
    check: (answer) => expect(answer.text).not.toContain('"events"'),
  },
];

const METHOD_CASES: RouteCase[] = [
  {
    name: "HEAD /events has the GET headers and no body",
    method: "HEAD",
    path: "/events?limit=2",
    status: 200,
    check: (answer) => expect(answer.body.length).toBe(0),
  },
  { name: "HEAD /events/{id} answers 200 without a body", method: "HEAD", path: `/events/${id(1)}`, status: 200 },
  { name: "HEAD of an unknown id is 404 without a body", method: "HEAD", path: `/events/${id(99)}`, status: 404 },
  ...["POST", "PUT", "PATCH", "DELETE", "OPTIONS"].map((method) => ({
    name: `${method} /events is 405 with Allow`,
    method,
    path: "/events",
    status: 405,
  })),
  { name: "DELETE /events/{id} is 405 with Allow", method: "DELETE", path: `/events/${id(1)}`, status: 405 },
];

const badQuery = (param: string, message: string | RegExp) => (answer: Answer) => {
  const document = answer.json() as { errors: { loc: unknown[]; msg: string }[]; detail: string };
  const error = document.errors.find((entry) => entry.loc[1] === param);
  expect(error?.loc).toEqual(["query", param]);
  expect(error?.msg).toMatch(message);
  expect(document.detail).toContain(param);
};
const LIMIT_RANGE = "must be an integer from 1 to 1000";

const BAD_INPUT_CASES: RouteCase[] = [
  ...["abc", "0", "5000", "1e3", "1.5", "-1", "", "%205", "0x10"].map((value) => ({
    name: `limit=${value} is 400 naming limit and its range`,
    path: `/events?limit=${value}`,
    status: 400,
    check: badQuery("limit", LIMIT_RANGE),
  })),
  {
    name: "a repeated limit is 400",
    path: "/events?limit=1&limit=2",
    status: 400,
    check: badQuery("limit", "at most once"),
  },
  {
    name: "a repeated session_id is 400",
    path: "/events?session_id=a&session_id=b",
    status: 400,
    check: badQuery("session_id", "at most once"),
  },
  {
    name: "an unknown event_type is 400 suggesting the closest type",
    path: "/events?event_type=deal.closed",
    status: 400,
    check: badQuery("event_type", '"deal.closed" is not an event type or pattern; did you mean "deal.created"?'),
  },
  {
    name: "one unknown type in a comma list is 400",
    path: "/events?event_type=deal.created,bogus",
    status: 400,
    check: badQuery("event_type", '"bogus" is not an event type'),
  },
  { name: "a bad since is 400", path: "/events?since=yesterday", status: 400, check: badQuery("since", "ISO-8601") },
  {
    name: "an impossible until is 400",
    path: "/events?until=2026-13-01",
    status: 400,
    check: badQuery("until", "ISO-8601"),
  },
  {
    name: "a raw + in an offset is 400 explaining %2B",
    path: "/events?since=2026-11-24T10:00:00+02:00",
    status: 400,
    check: badQuery("since", "%2B"),
  },
  {
    name: "after and before together are 400",
    path: `/events?after=${id(1)}&before=${id(2)}`,
    status: 400,
    check: badQuery("before", "cannot be combined with after"),
  },
  { name: "a non-UUID cursor is 400", path: "/events?after=nope", status: 400, check: badQuery("after", "UUID") },
  {
    name: "an unknown cursor is 400",
    path: `/events?before=${id(99)}`,
    status: 400,
    check: badQuery("before", "no stored event"),
  },
  {
    name: "an over-long filter is 400",
    path: `/events?session_id=${"s".repeat(300)}`,
    status: 400,
    check: badQuery("session_id", "at most 256"),
  },
  {
    name: "malformed percent-encoding in a value is 400",
    path: "/events?session_id=%E0%A4%A",
    status: 400,
    check: badQuery("session_id", "percent-encoded"),
  },
  {
    name: "malformed percent-encoding in a key is 400",
    path: "/events?%E0%A4%A=1",
    status: 400,
    check: (answer) => expect((answer.json() as { errors: { loc: unknown[] }[] }).errors[0]?.loc).toEqual(["query"]),
  },
  {
    name: "malformed percent-encoding in the id is 400",
    path: "/events/%E0%A4%A",
    status: 400,
    check: (answer) =>
      expect((answer.json() as { errors: { loc: unknown[] }[] }).errors[0]?.loc).toEqual(["path", "event_id"]),
  },
  {
    name: "every bad parameter is reported at once",
    path: "/events?limit=0&event_type=nope&flow_id=a&flow_id=b",
    status: 400,
    check: (answer) => {
      const locs = (answer.json() as { errors: { loc: unknown[] }[] }).errors.map((error) => error.loc[1]);
      expect(locs.sort()).toEqual(["event_type", "flow_id", "limit"]);
    },
  },
  {
    name: "a 100 KB query string is 414",
    path: `/events?flow_id=${"x".repeat(100 * 1024)}`,
    status: 414,
  },
];

describe.each(SERVER_KINDS)("$kind", ({ kind }) => {
  let bus: EventBus;
  let server: TestServer;

  beforeAll(async () => {
    bus = await fixtureBus();
    server = await startServer(kind, bus);
  });
  afterAll(async () => {
    await server.close();
    await bus.close();
  });

  describe.each([
    ["list", LIST_CASES],
    ["single event", ITEM_CASES],
    ["methods", METHOD_CASES],
    ["bad input", BAD_INPUT_CASES],
  ] as const)("%s", (_group, cases) => {
    it.each(cases.map((routeCase) => [routeCase.name, routeCase] as const))("%s", async (_name, routeCase) => {
      const method = routeCase.method ?? "GET";
      const answer = await send(server.url, routeCase.path, { method });
      expect(answer.status).toBe(routeCase.status);
      if (!routeCase.anyNotFound) expectSharedHeaders(answer, method);
      if (method === "HEAD") {
        expect(answer.body.length).toBe(0);
        const get = await send(server.url, routeCase.path);
        expect(answer.headers["content-type"]).toBe(get.headers["content-type"]);
        expect(answer.headers["content-length"]).toBe(String(get.body.length));
      }
      routeCase.check?.(answer);
    });
  });
});

function expectSharedHeaders(answer: Answer, method: string): void {
  expect(answer.headers["cache-control"]).toBe("no-store");
  if (method !== "HEAD") expect(answer.headers["content-length"]).toBe(String(answer.body.length));
  if (answer.status === 405) expect(answer.headers.allow).toBe("GET, HEAD");
  if (answer.status < 400) {
    expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
    return;
  }
  expect(answer.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
  if (method === "HEAD") return;
  const document = answer.json() as Record<string, unknown>;
  expect(document).toMatchObject({ type: "about:blank", status: answer.status, title: expect.any(String) });
  expect(document.detail).toEqual(expect.any(String));
}

function eventNotFound(answer: Answer): void {
  expect(answer.json()).toEqual({ type: "about:blank", title: "Not Found", status: 404, detail: "Event not found" });
}
