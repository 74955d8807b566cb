// The built binary for the long-running and operational commands: consumers, outbox, serve, and Ctrl-C (SIGINT)
// during tail and export, against real SQLite files.

import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealAuditTrail } from "../../src/audit/index.js";
import { EventBus } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { createWebhookDispatcher, generateWebhookSecret } from "../../src/webhooks/index.js";
import { loadAnySqlite } from "../support/sqlite.js";
import { startReceiver, waitFor } from "../webhooks/receiver.js";
import { type BuiltCli, buildCli, cliEnv, finish, runCli, startCli, waitForOutput } from "./cli-process.js";

/** better-sqlite3 on Node 20, node:sqlite on Node 24 (the binary picks the same way). */
const openDatabase = await loadAnySqlite();
let cli: BuiltCli;
let folder: string;

beforeAll(async () => {
  cli = await buildCli();
  folder = await mkdtemp(join(tmpdir(), "cli-operations-"));
}, 60_000);

afterAll(async () => {
  await cli?.remove();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** A stored event of the export tests, built directly (appending 100,000 through the bus would take longer). */
function makeWire(index: number) {
  return {
    event_id: crypto.randomUUID(),
    event_type: "negotiation.round" as const,
    timestamp: new Date(Date.parse("2026-01-01T00:00:00.000Z") + index).toISOString(),
    flow_id: "",
    flow_type: "",
    proposal_id: "",
    deal_id: "",
    session_id: "",
    payload: Object.freeze({ round: index }),
    metadata: Object.freeze({}),
  };
}

let files = 0;
function openFile(): { store: string; bus: EventBus } {
  files += 1;
  const path = join(folder, `events-${files}.sqlite`);
  const storage = sqliteStorage({ database: openDatabase(path), closeDatabase: true });
  return { store: `sqlite:${path}`, bus: new EventBus({ storage, closeStorage: true }) };
}

describe("consumers", () => {
  it("status shows position, lag and dead letters by name; dead-letters lists them", async () => {
    const { bus, store } = openFile();
    const [first, poisoned, last] = await bus.emitEvents([
      { event_type: "deal.created" },
      { event_type: "deal.synced" },
      { event_type: "deal.created" },
    ]);
    const consumer = bus.consume(
      "warehouse",
      (events) => {
        if (events.some((event) => event.event_id === poisoned?.event_id)) throw new Error("warehouse said no");
      },
      { batchSize: 1, retry: { attempts: 1 }, onFailure: "skip" },
    );
    while (consumer.status().position !== last?.event_id) await new Promise((resolve) => setTimeout(resolve, 10));
    await consumer.stop();
    await bus.emitEvent({ event_type: "session.created" });
    await bus.close();

    const status = await runCli(cli, ["consumers", "status", "warehouse", "never-ran", "--store", store]);
    expect(status.code).toBe(0);
    expect(
      status.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { name: "warehouse", position: last?.event_id, lag: 1, dead_letters: 1 },
      { name: "never-ran", position: null, lag: 4, dead_letters: 0 },
    ]);
    const typed = await runCli(cli, ["consumers", "status", "warehouse", "--type", "deal.*", "--store", store]);
    expect(JSON.parse(typed.stdout)).toMatchObject({ lag: 0 });
    const letters = await runCli(cli, ["consumers", "dead-letters", "warehouse", "--store", store]);
    expect(JSON.parse(letters.stdout)).toMatchObject({
      event_id: poisoned?.event_id,
      error: expect.stringContaining("warehouse said no"),
    });
    expect(first).toBeDefined();
    const unnamed = await runCli(cli, ["consumers", "status", "--store", store]);
    expect(unnamed).toMatchObject({ code: 2, stderr: expect.stringContaining("<name>: name the consumers") });
  });
});

describe("outbox", () => {
  it("status reads an outbox file without taking it; replay stores its events and empties it", async () => {
    const source = openFile();
    const events = await source.bus.emitEvents([
      { event_type: "deal.created" },
      { event_type: "approval.granted" },
      { event_type: "deal.synced" },
    ]);
    await source.bus.close();
    const path = join(folder, "event-outbox.jsonl");
    // One event per line and one batch as an array, as the bus writes them (docs/outbox.md, "The file").
    await writeFile(path, `${JSON.stringify(events[0])}\n${JSON.stringify(events.slice(1))}\n`);
    const status = await runCli(cli, ["outbox", "status", path]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      file: path,
      pending: 3,
      oldest_timestamp: events[0]?.timestamp,
      owner: null,
      rejected_lines: 0,
    });
    const target = openFile();
    const replay = await runCli(cli, ["outbox", "replay", path, "--store", target.store]);
    expect(replay).toMatchObject({ code: 0, stderr: "outbox: 3 of 3 events stored\n" });
    // Emptied: the outbox deletes its file once every event is confirmed.
    expect((await stat(path).catch(() => ({ size: 0 }))).size).toBe(0);
    expect(await target.bus.listEvents()).toEqual(events);
    await target.bus.close();
    const again = await runCli(cli, ["outbox", "replay", path, "--store", target.store]);
    expect(again).toMatchObject({ code: 0, stderr: `outbox: ${path} holds no pending events\n` });
  });
});

describe("verify", () => {
  it("reports an intact trail (exit 0), then names the altered event (exit 1), and refuses a missing key (exit 2)", async () => {
    files += 1;
    const path = join(folder, `events-${files}.sqlite`);
    const database = openDatabase(path);
    const bus = new EventBus({ storage: sqliteStorage({ database }) });
    const keys = generateKeyPairSync("ed25519");
    const sealer = sealAuditTrail(bus, { signingKey: keys.privateKey, every: 3_600_000 });
    const deals = [];
    for (const deal of ["d-1", "d-2", "d-3"]) {
      deals.push(await bus.emitEvent({ event_type: "deal.created", deal_id: deal, payload: { cpm: 12 } }));
    }
    expect(await sealer.sealNow()).not.toBeNull();
    await sealer.stop();
    const keyFile = join(folder, `public-${files}.pem`);
    await writeFile(keyFile, keys.publicKey.export({ type: "spki", format: "pem" }));
    const store = `sqlite:${path}`;

    const intact = await runCli(cli, ["verify", "--store", store, "--public-key", keyFile]);
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({
      intact: true,
      summary: { digests: 1, sealed_events: 3, unsealed_events: 0 },
    });

    const altered = deals[1]?.event_id as string;
    database.prepare(`UPDATE events SET payload = '{"cpm":1}' WHERE event_id = ?`).run(altered);
    const broken = await runCli(cli, ["verify", "--store", store, "--public-key", keyFile, "--json"]);
    expect(broken.code).toBe(1);
    const lines = broken.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.kind === "altered").map((line) => line.event_id)).toEqual([altered]);
    expect(lines.at(-1)).toMatchObject({ intact: false });

    const missing = await runCli(cli, ["verify", "--store", store]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--public-key: verify needs the trail's public key/);
    await bus.close();
    database.close();
  });
});

describe("webhooks", () => {
  it("lists subscriptions with their secrets hidden, reads the failed attempts, and redelivers them", async () => {
    let answer = 500;
    const receiver = await startReceiver(() => ({ status: answer }));
    const { store, bus } = openFile();
    const dispatcher = createWebhookDispatcher(bus, {
      allowPrivateNetworks: true,
      retry: { attempts: 1, initialDelayMs: 5, maxDelayMs: 5 },
      refreshMs: 50,
      leaseMs: 1_000,
    });
    const secret = generateWebhookSecret();
    await dispatcher.add({ id: "buyer-1", url: receiver.url(), secrets: secret, event_types: ["deal.*"] });
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    await waitFor("the failed delivery", async () => (await dispatcher.deliveries("buyer-1")).length > 0);
    await dispatcher.close();
    await bus.close();

    const listed = await runCli(cli, ["webhooks", "list", "--store", store]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ id: "buyer-1", url: receiver.url(), secrets: 1 });
    expect(listed.stdout).not.toContain(secret.slice("whsec_".length, "whsec_".length + 12));

    const failed = await runCli(cli, ["webhooks", "deliveries", "buyer-1", "--failed", "--store", store]);
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout.trim().split("\n")[0] as string)).toMatchObject({
      event_id: event.event_id,
      ok: false,
      status: 500,
    });

    answer = 200;
    const redeliver = ["webhooks", "redeliver", "buyer-1", "--failed", "--allow-private-networks", "--store", store];
    const sent = await runCli(cli, redeliver);
    expect(sent.stderr).toContain("1 delivered, 0 failed");
    expect(sent.code).toBe(0);
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual([event.event_id, event.event_id]);

    const usage = await runCli(cli, ["webhooks", "redeliver", "buyer-1", "--store", store]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/redeliver takes exactly one of --event <id>, --failed, or --since\/--until/);
    await receiver.close();
  });
});

describe("serve", () => {
  it("serves GET /events and the viewer over node:http until Ctrl-C", async () => {
    const child = startCli(cli, ["serve", "--store", "memory:", "--demo", "--port", "0"]);
    const result = finish(child);
    const ready = await waitForOutput(child.stderr, (text) => text.includes("Ctrl-C to stop"));
    const base = /serve: (http:\/\/127\.0\.0\.1:\d+\/events)/.exec(ready)?.[1] as string;
    const body = (await (await fetch(base)).json()) as { events: { event_type: string }[] };
    expect(body.events.map((event) => event.event_type)).toEqual([
      "session.created",
      "proposal.received",
      "negotiation.started",
      "negotiation.round",
      "negotiation.round",
      "negotiation.round",
      "negotiation.concluded",
      "deal.created",
    ]);
    const page = await fetch(`${base}/ui`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    child.kill("SIGINT");
    expect((await result).code).toBe(0);
  });
});

describe("Ctrl-C", () => {
  it("tail follows appends from another process and stops on SIGINT with a summary, exit 0", async () => {
    const { bus, store } = openFile();
    await bus.emitEvent({ event_type: "session.created" });
    const child = startCli(cli, ["tail", "--store", store]);
    const lines: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => lines.push(...chunk.split("\n").filter(Boolean)));
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    await waitForOutput(child.stderr, (text) => text.includes("(Ctrl-C to stop)"));
    const appended = await bus.emitEvents([{ event_type: "deal.created" }, { event_type: "deal.synced" }]);
    await waitForOutput(child.stdout, () => lines.length === 2);
    child.kill("SIGINT");
    const [code] = await once(child, "close");
    expect(code).toBe(0);
    expect(lines).toEqual(appended.map((event) => JSON.stringify(event)));
    expect(stderr).toMatch(/tail: stopped after 2 events\n$/);
    await bus.close();
  });

  it("export stops on SIGINT between two pages: whole lines, a summary, exit 1", async () => {
    const { bus, store } = openFile();
    for (let start = 0; start < 20_000; start += 1000) {
      await bus.emitEvents(
        Array.from({ length: 1000 }, (_, round) => ({
          event_type: "negotiation.round" as const,
          payload: { round, pad: "x".repeat(200) },
        })),
      );
    }
    await bus.close();
    const child = startCli(cli, ["export", "--store", store]);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // Read the first chunk, then stop reading: the export blocks on the full pipe, well before its end.
    let stdout = "";
    child.stdout.setEncoding("utf8");
    await new Promise<void>((resolve) =>
      child.stdout.once("data", (chunk: string) => {
        stdout += chunk;
        child.stdout.pause();
        resolve();
      }),
    );
    child.kill("SIGINT");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stdout.resume();
    const [code] = await once(child, "close");
    expect(code).toBe(1);
    const lines = stdout.split("\n");
    expect(lines.at(-1)).toBe("");
    const exported = lines.slice(0, -1);
    for (const line of exported) expect(JSON.parse(line)).toMatchObject({ event_type: "negotiation.round" });
    expect(exported.length).toBeLessThan(20_000);
    const summary =
      /^export: stopped by Ctrl-C after ([\d,]+) events in [\d.]+s \([\d,]+\/s\); the last is ([0-9a-f-]{36})\n$/.exec(
        stderr,
      );
    expect(summary?.[1]?.replaceAll(",", "")).toBe(String(exported.length));
    expect(summary?.[2]).toBe(JSON.parse(exported.at(-1) as string).event_id);
  }, 30_000);

  it("export to a file (stdout written synchronously) still sees SIGINT: it yields to the event loop per page", async () => {
    const { bus, store } = openFile();
    for (let start = 0; start < 100_000; start += 5000) {
      await bus.storage.append(Array.from({ length: 5000 }, (_, index) => Object.freeze(makeWire(start + index))));
    }
    await bus.close();
    const output = join(folder, "redirected.jsonl");
    const file = await open(output, "w");
    const child = spawn(process.execPath, [cli.path, "export", "--store", store], {
      stdio: ["ignore", file.fd, "pipe"],
      env: cliEnv(),
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    // Freeze it as soon as its first page is in the file, then queue Ctrl-C: it must stop long before the end.
    while ((await stat(output)).size === 0) await new Promise((resolve) => setImmediate(resolve));
    child.kill("SIGSTOP");
    child.kill("SIGINT");
    child.kill("SIGCONT");
    const [code] = await once(child, "close");
    await file.close();
    expect(code).toBe(1);
    const lines = (await readFile(output, "utf8")).split("\n").slice(0, -1);
    expect(lines.length).toBeLessThan(100_000);
    expect(stderr).toMatch(
      new RegExp(`^export: stopped by Ctrl-C after ${lines.length.toLocaleString("en-US")} events`),
    );
  }, 30_000);
});

describe("import of a file that is not there", () => {
  it("names the argument, exit 2", async () => {
    const { store, bus } = openFile();
    await bus.close();
    const result = await runCli(cli, ["import", join(folder, "nope.jsonl"), "--store", store]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ad-seller-events import: <file>: cannot read .*nope\.jsonl: ENOENT/);
    await expect(readFile(join(folder, "nope.jsonl"))).rejects.toThrow();
  });
});
