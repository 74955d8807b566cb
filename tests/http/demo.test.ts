import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENT_TYPES, EventBus } from "ad-seller-events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DemoRun, runDemoSellerFlow } from "../../examples/demo/seller-flow.js";
import { type DemoServer, startDemoServer } from "../../examples/demo/server.js";
import { type Answer, runScript, send } from "./harness.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface WireEvent {
  event_id: string;
  event_type: string;
  session_id: string;
}
const eventsOf = (answer: Answer) => (answer.json() as { events: WireEvent[] }).events;

describe("the demo seller flow", () => {
  let bus: EventBus;
  let run: DemoRun;
  let server: DemoServer;

  beforeAll(async () => {
    bus = new EventBus();
    run = await runDemoSellerFlow(bus);
    server = await startDemoServer(bus, { port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await bus.close();
  });

  it("emits all 22 event types across three UUID sessions, proposals and a deal", async () => {
    const events = await bus.listEvents({ limit: 1000 });
    expect(new Set(events.map((event) => event.event_type))).toEqual(new Set(EVENT_TYPES));
    expect(events.map((event) => event.event_id)).toEqual(run.eventIds);
    expect(run.sessionIds).toHaveLength(3);
    for (const sessionId of run.sessionIds) expect(sessionId).toMatch(UUID);
    expect(new Set(events.map((event) => event.session_id))).toEqual(new Set(run.sessionIds));
    expect(run.proposalIds).toHaveLength(3);
    expect(run.dealIds).toHaveLength(1);
  });

  it("curl '/events?event_type=negotiation.round&limit=10' lists the negotiation rounds", async () => {
    const answer = await send(server.url, "/events?event_type=negotiation.round&limit=10");
    expect(answer.status).toBe(200);
    const events = eventsOf(answer);
    expect(events).toHaveLength(3);
    expect(events.every((event) => event.event_type === "negotiation.round")).toBe(true);
  });

  it("curl '/events?session_id=<uuid>' lists that session, from session.created to session.closed", async () => {
    const sessionId = run.sessionIds[0] as string;
    const events = eventsOf(await send(server.url, `/events?session_id=${sessionId}`));
    expect(events.every((event) => event.session_id === sessionId)).toBe(true);
    expect(events[0]?.event_type).toBe("session.created");
    expect(events.at(-1)?.event_type).toBe("session.closed");
  });

  it("curl /events/<uuid> answers the event, and an unknown id the Python service's 404", async () => {
    const eventId = run.eventIds[5] as string;
    expect((await send(server.url, `/events/${eventId}`)).json()).toMatchObject({ event_id: eventId });
    const missing = await send(server.url, `/events/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ detail: "Event not found" });
  });
});

describe("npm run demo (examples/demo/main.ts)", () => {
  const cwd = mkdtempSync(join(tmpdir(), "ad-seller-demo-"));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  /** Starts the CLI on a free port; resolves with the curl URLs it printed (pointed at 127.0.0.1) and a stop. */
  async function startDemo(args: string[]) {
    const script = await runScript("examples/demo/main.ts", {
      args,
      cwd,
      env: { PORT: "0" },
      ready: /limit=5000'\n/,
    });
    const urls = [...script.output().matchAll(/curl (?:-i )?'?(http:\/\/localhost:\d+\/[^'\s]*)/g)].map((match) =>
      (match[1] as string).replace("localhost", "127.0.0.1"),
    );
    return { script, urls };
  }

  it("on a busy port says how to choose another and writes nothing", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as AddressInfo;
    const folder = mkdtempSync(join(tmpdir(), "ad-seller-demo-busy-"));
    try {
      const failed = await runScript("examples/demo/main.ts", { cwd: folder, env: { PORT: String(port) }, ready: /$^/ })
        .then(() => undefined)
        .catch((error: Error) => error.message);
      expect(failed).toMatch(/exited with 1/);
      expect(failed).toContain(`Port ${port} on 127.0.0.1 is in use`);
      expect(failed).toContain("PORT=9000 npm run demo");
      expect(existsSync(join(folder, ".data"))).toBe(false);
    } finally {
      busy.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("--memory prints curl commands that answer as documented, and stops cleanly", async () => {
    const { script, urls } = await startDemo(["--memory"]);
    expect(script.output()).toContain("Seller flow emitted 32 events into memory");
    expect(urls).toHaveLength(6);
    const answers = await Promise.all(
      urls.map((url) => send(new URL(url).origin, url.slice(new URL(url).origin.length))),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 400]);
    expect(eventsOf(answers[0] as Answer).map((event) => event.event_type)).toEqual(Array(3).fill("negotiation.round"));
    expect(eventsOf(answers[1] as Answer).length).toBeGreaterThan(10);
    expect((answers[2] as Answer).json()).toMatchObject({ event_type: "session.created" });
    expect(eventsOf(answers[3] as Answer).map((event) => event.event_type)).toEqual(["deal.created", "deal.synced"]);
    expect(eventsOf(answers[4] as Answer)).toHaveLength(5);
    expect((answers[5] as Answer).json()).toMatchObject({ errors: [{ loc: ["query", "limit"] }] });
    expect(await script.stop()).toBe(0);
  });

  it("keeps events in .data/events.sqlite across restarts", async () => {
    for (const expected of [32, 64]) {
      const { script, urls } = await startDemo([]);
      expect(script.output()).toContain("into SQLite .data/events.sqlite");
      const base = (urls[0] as string).replace(/\/events\?.*$/, "");
      expect(eventsOf(await send(base, "/events?limit=1000"))).toHaveLength(expected);
      expect(await script.stop()).toBe(0);
    }
  });
});
