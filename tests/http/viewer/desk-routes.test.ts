import { type Event, EventBus, memoryStorage } from "ad-seller-events";
import { createEventsFetchHandler, createEventsHandler } from "ad-seller-events/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_EXPORTS } from "../../../src/http/export/export-route.js";
import { CSV_COLUMNS } from "../../../src/http/export/export-rows.js";
import { SEARCH_SCAN_WINDOW } from "../../../src/http/search/search-route.js";
import { DESK_COUNTS, SEARCHED_BUYER, seedSellerDesk } from "../../fixtures/viewer-desk-seed.js";
import { countingStorage } from "../../support/counting-storage.js";
import { SERVER_KINDS, startServer } from "../harness.js";

type Page = { events: Event[]; has_more: boolean; scanned?: number; next_before?: string | null };

describe("the seller desk routes: q, /export and /summary", () => {
  let bus: EventBus;
  let handler: (request: Request) => Promise<Response>;
  let northwind: Event[];
  const clock = { at: Date.parse("2026-11-20T08:00:00.000Z") };

  beforeAll(async () => {
    bus = new EventBus({ storage: memoryStorage(), now: () => new Date(clock.at) });
    ({ northwind } = await seedSellerDesk(bus, clock));
    handler = createEventsFetchHandler(bus, {
      authorize: (request) => request.headers.get("x-key") === "k",
      viewer: { rowSummaries: { "deal.created": ["{deal_type} at {cpm:cpm}"] } },
    });
  });
  afterAll(() => bus.close());

  const get = (path: string, method = "GET") =>
    handler(new Request(`http://desk.test/events${path}`, { method, headers: { "x-key": "k" } }));
  const getJson = async (path: string) => (await (await get(path)).json()) as Page & Record<string, unknown>;
  /** Every event of a filter through the list API, newest first. */
  async function listAll(query: string): Promise<Event[]> {
    const all: Event[] = [];
    let before = "";
    for (;;) {
      const page = await getJson(`?${query}&limit=7${before === "" ? "" : `&before=${before}`}`);
      all.push(...[...page.events].reverse());
      if (!page.has_more) return all;
      before = (page.events[0] as Event).event_id;
    }
  }

  it("q finds a buyer's name inside payloads, ignoring case, and nothing else", async () => {
    const page = await getJson(`?q=${encodeURIComponent(SEARCHED_BUYER.toUpperCase())}`);
    expect(page.events.map((event) => event.event_id)).toEqual(northwind.map((event) => event.event_id));
    expect(page.has_more).toBe(false);
    expect(page.next_before).toBeNull();
    // Ids are searched too, and the term is matched as JSON writes it.
    const byId = await getJson(`?q=${northwind[0]?.event_id.slice(0, 13)}`);
    expect(byId.events.map((event) => event.event_id)).toEqual([northwind[0]?.event_id]);
    expect((await getJson("?q=no+such+buyer")).events).toEqual([]);
  });

  it("q pages back with next_before, and combines with the other filters", async () => {
    const first = await getJson("?q=gate&limit=2");
    expect(first.events).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = await getJson(`?q=gate&limit=50&before=${first.next_before}`);
    const both = [...second.events, ...first.events].map((event) => event.event_id);
    const approvals = await bus.listEvents({ event_type: "approval.*", limit: 100 });
    expect(both).toEqual(approvals.map((event) => event.event_id));
    const filtered = await getJson("?q=gate&deal_id=d-3");
    expect(filtered.events.every((event) => event.deal_id === "d-3")).toBe(true);
    expect(filtered.events).toHaveLength(3);
  });

  it("q reads at most SEARCH_SCAN_WINDOW events per request, on a store it counts", async () => {
    const storage = countingStorage(memoryStorage());
    const big = new EventBus({ storage });
    const filler = Array.from({ length: 500 }, (_, index) => ({
      event_type: "package.updated" as const,
      payload: { index },
    }));
    for (let batch = 0; batch < (SEARCH_SCAN_WINDOW + 1000) / filler.length; batch++) await big.emitEvents(filler);
    const search = createEventsFetchHandler(big);
    const reads = storage.reads.length;
    const page = (await (await search(new Request("http://x/events?q=absent"))).json()) as Page;
    expect(page.events).toEqual([]);
    expect(page.scanned).toBe(SEARCH_SCAN_WINDOW);
    expect(page.has_more).toBe(true);
    expect(storage.reads.length - reads).toBe(SEARCH_SCAN_WINDOW / 1000);
    expect(storage.reads.slice(reads).every((query) => query.limit <= 1001)).toBe(true);
    await big.close();
  }, 20_000);

  it("answers garbage in q, format, limit and the cursors with a 400 naming the parameter", async () => {
    const cases: [string, string][] = [
      [`?q=${"x".repeat(201)}`, "q"],
      ["?q=a&q=b", "q"],
      ["?q=a%0Ab", "q"],
      ["?q=a%FF", "q"],
      [`?q=a&after=${northwind[0]?.event_id}`, "after"],
      ["/export?format=xlsx", "format"],
      ["/export?limit=0", "limit"],
      ["/export?limit=50001", "limit"],
      ["/export?limit=1e3", "limit"],
      ["/export?since=yesterday", "since"],
      [`/export?after=${northwind[0]?.event_id}`, "after"],
      ["/summary?limit=5", "limit"],
      ["/summary?before=x", "before"],
      ["/summary?event_type=deal.nope", "event_type"],
    ];
    for (const [path, parameter] of cases) {
      const response = await get(path);
      expect(response.status, path).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await response.json()) as { errors: { loc: string[] }[] };
      expect(
        problem.errors.map((error) => error.loc[1]),
        path,
      ).toContain(parameter);
    }
  });

  it("refuses /export, /summary and the row summaries without authorize", async () => {
    for (const path of ["/events/export", "/events/summary", "/events/ui/row-summaries.json", "/events?q=a"]) {
      expect((await handler(new Request(`http://desk.test${path}`))).status, path).toBe(401);
    }
  });

  it("exports a filter as JSON Lines equal to the list API's answer, newest first", async () => {
    const response = await get("/export?event_type=proposal.*,deal.*&format=jsonl");
    expect(response.headers.get("content-type")).toBe("application/jsonl; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="events-.+\.jsonl"$/);
    const lines = (await response.text()).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.map((line) => JSON.parse(line))).toEqual(await listAll("event_type=proposal.*,deal.*"));
  });

  it("exports a filter as CSV (RFC 4180) equal to the list API's answer, formulas defused", async () => {
    const expected = await listAll("q=northwind");
    const text = await (await get("/export?q=northwind&format=csv")).text();
    const [header, ...rows] = text.split("\r\n");
    expect(header).toBe(CSV_COLUMNS.join(","));
    expect(rows.pop()).toBe("");
    expect(rows.map(parseCsvLine)).toEqual(expected.map((event) => CSV_COLUMNS.map((column) => text_(event[column]))));
    const tricky = await bus.emitEvent({ event_type: "session.closed", session_id: '=HYPERLINK("x")', payload: {} });
    const cells = parseCsvLine((await (await get("/export?format=csv&limit=1")).text()).split("\r\n")[1] as string);
    expect(cells[0]).toBe(tricky.event_id);
    expect(cells[7]).toBe('\'=HYPERLINK("x")');
  });

  it("stops an export at limit and answers HEAD with headers only", async () => {
    const text = await (await get("/export?limit=3")).text();
    expect(text.split("\n").filter(Boolean)).toHaveLength(3);
    const head = await get("/export?format=csv", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toContain("text/csv");
    expect(await head.text()).toBe("");
  });

  it("counts the funnel, pending approvals and negotiations as the seed holds them", async () => {
    const summary = (await getJson("/summary?until=2026-11-21T14:00:00Z")) as unknown as {
      complete: boolean;
      funnel: Record<string, number>;
      pending_approvals: { deal_id: string; gate: string; requested_at: string }[];
      negotiations: { outcomes: Record<string, number>; rounds_to_close: Record<string, number> };
      over_time: { groups: Record<string, number[]> };
      by_type: Record<string, number>;
    };
    expect(summary.complete).toBe(true);
    expect(summary.funnel).toEqual(DESK_COUNTS.funnel);
    const end = Date.parse("2026-11-20T08:00:00.000Z") + 30 * 3_600_000;
    expect(
      summary.pending_approvals.map(({ deal_id, gate, requested_at }) => ({
        deal_id,
        gate,
        ms: end - Date.parse(requested_at),
      })),
    ).toEqual(DESK_COUNTS.pending.map(({ deal_id, gate, waitingMs }) => ({ deal_id, gate, ms: waitingMs })));
    expect(summary.negotiations.outcomes).toEqual(DESK_COUNTS.outcomes);
    expect(summary.negotiations.rounds_to_close).toEqual(DESK_COUNTS.roundsToClose);
    const bars = Object.values(summary.over_time.groups)
      .flat()
      .reduce((sum, count) => sum + count, 0);
    expect(bars).toBe(Object.values(summary.by_type).reduce((sum, count) => sum + count, 0));
  });

  it("serves the application's row summaries to the page, and refuses bad ones when the handler is built", async () => {
    expect(await (await get("/ui/row-summaries.json")).json()).toEqual({
      "deal.created": ["{deal_type} at {cpm:cpm}"],
    });
    const build = (viewer: unknown) => () => createEventsHandler(bus, { viewer } as never);
    expect(build({ rowSummary: {} })).toThrow(/rowSummary: is not an option of viewer; did you mean "?rowSummaries/);
    expect(build({ rowSummaries: { "deal.maybe": ["x"] } })).toThrow(/viewer\.rowSummaries\.deal\.maybe/);
    expect(build({ rowSummaries: { "deal.created": ["{cpm:euros}"] } })).toThrow(/\{cpm:euros\} must be/);
    expect(build({ rowSummaries: { "deal.created": "at {cpm}" } })).toThrow(/must be a list/);
    expect(build("yes")).toThrow(/viewer/);
  });
});

describe("an export whose store fails midway", () => {
  it("ends the file short at a row boundary and tells onError, after a clean first page", async () => {
    const storage = countingStorage(memoryStorage());
    const bus = new EventBus({ storage });
    const batch = Array.from({ length: 500 }, (_, index) => ({
      event_type: "package.synced" as const,
      payload: { index },
    }));
    for (let round = 0; round < 5; round++) await bus.emitEvents(batch);
    const errors: unknown[] = [];
    const handler = createEventsFetchHandler(bus, { onError: (error) => errors.push(error) });
    const response = await handler(new Request("http://x/events/export?format=jsonl"));
    expect(response.status).toBe(200); // the first page was read before answering
    storage.failing = true;
    const lines = (await response.text()).split("\n");
    expect(lines.pop()).toBe(""); // every line written is whole
    expect(lines).toHaveLength(1000);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain("store unreachable");
    storage.failing = false;
    await bus.close();
  });
});

describe("exports at once", () => {
  it("runs at most MAX_EXPORTS per handler, answers 503 past it, and frees a slot when a client leaves", async () => {
    const bus = new EventBus({ storage: memoryStorage() });
    await bus.emitEvents(Array.from({ length: 50 }, () => ({ event_type: "package.synced" as const })));
    const handler = createEventsFetchHandler(bus);
    const open = (limit = 50) => handler(new Request(`http://x/events/export?limit=${limit}`));
    // Nobody reads these bodies: each export waits for its reader, holding its slot.
    const running = await Promise.all(Array.from({ length: MAX_EXPORTS }, () => open()));
    expect(running.map((response) => response.status)).toEqual(Array(MAX_EXPORTS).fill(200));
    const refused = await open();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toContain(`More than ${MAX_EXPORTS} exports`);
    await running[0]?.body?.cancel();
    const next = await open(2);
    expect(next.status).toBe(200);
    expect((await next.text()).split("\n").filter(Boolean)).toHaveLength(2);
    for (const response of running.slice(1)) await response.body?.cancel();
    await bus.close();
  });
});

describe.each(SERVER_KINDS.map((entry) => entry.kind))("GET /events/export streamed on %s", (kind) => {
  it("sends every row of a large export through the framework", async () => {
    const bus = new EventBus({ storage: memoryStorage() });
    const batch = Array.from({ length: 500 }, (_, index) => ({
      event_type: "package.synced" as const,
      payload: { index },
    }));
    for (let round = 0; round < 5; round++) await bus.emitEvents(batch);
    const server = await startServer(kind, bus);
    try {
      const response = await fetch(`${server.url}/events/export?format=csv`);
      expect(response.status).toBe(200);
      const rows = (await response.text()).split("\r\n").filter(Boolean);
      expect(rows).toHaveLength(2501);
      expect(rows[1]?.split(",")[0]).toBe((await bus.listEvents({ limit: 1 }))[0]?.event_id);
    } finally {
      await server.close();
      await bus.close();
    }
  });
});

function text_(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** One CSV record without line breaks inside (the test's payloads have none). */
function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let index = 0;
  while (index <= line.length) {
    if (line[index] === '"') {
      let cell = "";
      index++;
      for (;;) {
        const quote = line.indexOf('"', index);
        cell += line.slice(index, quote);
        index = quote + 1;
        if (line[index] !== '"') break;
        cell += '"';
        index++;
      }
      cells.push(cell);
      index++; // the comma
    } else {
      const comma = line.indexOf(",", index);
      const end = comma < 0 ? line.length : comma;
      cells.push(line.slice(index, end));
      index = end + 1;
    }
  }
  return cells;
}
