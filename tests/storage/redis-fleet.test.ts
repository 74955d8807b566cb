import { type ChildProcess, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type Event, EventBus, type EventQuery } from "../../src/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { redisKeyLayout } from "../../src/storage/redis/redis-schema.js";
import { redisTestClients, storedState, uniquePrefix } from "../fixtures/redis-store.js";
import { REDIS_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("Redis", REDIS_URL);

const { newClient, track } = redisTestClients(available);

interface Child {
  readonly process: ChildProcess;
  /** Resolves with the JSON the child printed last, or rejects with its stderr when it fails. */
  readonly result: Promise<{ ids: string[] }>;
  /** Resolves once the child printed "ready". */
  readonly ready: Promise<void>;
}

/** Runs a fixture in its own Node process, the way a separate seller process would run. */
function runFixture(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ["--import", "tsx", `tests/fixtures/${script}`, ...args], {
    cwd: new URL("../..", import.meta.url),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith("ready\n")) markReady();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const result = new Promise<{ ids: string[] }>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code === 0) resolve(JSON.parse(last) as { ids: string[] });
      else reject(new Error(`${script} exited with ${code}: ${stderr}`));
    });
  });
  return { process: child, result, ready };
}

describe.skipIf(!available)("redisStorage shared by several processes", () => {
  it("gives 4 writer processes and a tailing reader one append order, with nothing lost or repeated", async () => {
    const prefix = uniquePrefix("fleet");
    track(prefix);
    const bus = new EventBus({ storage: redisStorage({ client: newClient(), prefix }) });
    const marker = await bus.emitEvent({ event_type: "session.created", session_id: "marker" });

    const tailer = runFixture("redis-fleet-tailer.ts", [REDIS_URL, prefix, marker.event_id, "2000", "90000"]);
    const writers = [0, 1, 2, 3].map((writer) =>
      runFixture("redis-fleet-writer.ts", [REDIS_URL, prefix, String(writer), "500", "sequential"]),
    );
    const written = (await Promise.all(writers.map((writer) => writer.result))).map((result) => result.ids);
    const tailed = (await tailer.result).ids;

    expect(tailed).toHaveLength(2000);
    expect(new Set(tailed).size).toBe(2000);
    expect(new Set(tailed)).toEqual(new Set(written.flat()));
    // Each writer emitted one event at a time, so its own events keep its emit order in the shared order.
    for (const ids of written) expect(tailed.filter((id) => ids.includes(id))).toEqual(ids);

    const all = await readAll(bus, marker.event_id, {});
    expect(all.map((event) => event.event_id)).toEqual(tailed);
    const inOrder = (keep: (event: Event) => boolean) => all.filter(keep).map((event) => event.event_id);

    for (const writer of [0, 1, 2, 3]) {
      const flow_id = `writer-${writer}`;
      const listed = await bus.listEvents({ flow_id, limit: 1000 });
      expect(listed.map((event) => event.event_id)).toEqual(inOrder((event) => event.flow_id === flow_id));
    }
    for (const session of [0, 1, 2, 3, 4]) {
      const session_id = `session-${session}`;
      const paged = await pageBack(bus, { session_id });
      expect(paged.map((event) => event.event_id)).toEqual(inOrder((event) => event.session_id === session_id));
    }
    const types = ["negotiation.round", "deal.created"] as const;
    const byTypes = await readAll(bus, marker.event_id, { event_type: [...types] });
    expect(byTypes.map((event) => event.event_id)).toEqual(
      inOrder((event) => (types as readonly string[]).includes(event.event_type)),
    );
    const combined = await readAll(bus, marker.event_id, { flow_id: "writer-2", deal_id: "deal-1" });
    expect(combined.map((event) => event.event_id)).toEqual(
      inOrder((event) => event.flow_id === "writer-2" && event.deal_id === "deal-1"),
    );
    expect(combined.length).toBeGreaterThan(0);
  }, 120_000);

  it("lets 4 processes start at once on an empty prefix without failures or duplicate sequence numbers", async () => {
    const prefix = uniquePrefix("first-use");
    track(prefix);
    const writers = [0, 1, 2, 3].map((writer) =>
      runFixture("redis-fleet-writer.ts", [REDIS_URL, prefix, String(writer), "50", "concurrent", "--wait-go"]),
    );
    await Promise.all(writers.map((writer) => writer.ready));
    for (const writer of writers) writer.process.stdin?.end("go\n");
    const written = (await Promise.all(writers.map((writer) => writer.result))).flatMap((result) => result.ids);

    expect(new Set(written).size).toBe(200);
    const admin = newClient();
    const keys = redisKeyLayout(prefix);
    const log = await admin.zrange(keys.log, 0, -1, "WITHSCORES");
    expect(log.filter((_, index) => index % 2 === 1).map(Number)).toEqual(
      Array.from({ length: 200 }, (_, index) => index + 1),
    );
    expect(await admin.get(keys.sequence)).toBe("200");
    const storage = redisStorage({ client: admin, prefix });
    const listed = await storage.list({ limit: 1000 });
    expect(new Set(listed.map((event) => event.event_id))).toEqual(new Set(written));
    const states = await Promise.all(listed.map((event) => storedState(admin, prefix, event)));
    expect(new Set(states)).toEqual(new Set(["whole"]));
  }, 120_000);
});

/** Every matching event after `startId`, oldest first, tailing in pages of 1000. */
async function readAll(bus: EventBus, startId: string, query: EventQuery): Promise<Event[]> {
  const events: Event[] = [];
  let after = startId;
  for (;;) {
    const page = await bus.listEvents({ ...query, after, limit: 1000 });
    events.push(...page);
    const last = page.at(-1);
    if (last === undefined) return events;
    after = last.event_id;
  }
}

/** Every matching event, read newest page first with `before`, returned oldest first. */
async function pageBack(bus: EventBus, query: EventQuery): Promise<Event[]> {
  const pages: Event[][] = [];
  let page = await bus.listEvents({ ...query, limit: 97 });
  while (page.length > 0) {
    pages.unshift(page);
    page = await bus.listEvents({ ...query, before: (page[0] as Event).event_id, limit: 97 });
  }
  return pages.flat();
}
