// The built binary against real SQLite files: every command, bad flags, a missing store, the Python fixture
// imported twice, prune dry then --yes, export then import byte for byte, the readable terminal view.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus, type EventStorage } from "../../src/index.js";
import { toCloudEvent, toIabEvent } from "../../src/interop/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";
import { type BuiltCli, buildCli, cliEnv, runCli } from "./cli-process.js";

const FIXTURE = resolve(import.meta.dirname, "../fixtures/python-audit-fallback.jsonl");
/** better-sqlite3 on Node 20, node:sqlite on Node 24 (the binary picks the same way). */
const openDatabase = await loadAnySqlite();
let cli: BuiltCli;
let folder: string;

beforeAll(async () => {
  cli = await buildCli();
  folder = await mkdtemp(join(tmpdir(), "cli-sqlite-"));
}, 60_000);

afterAll(async () => {
  await cli?.remove();
  if (folder) await rm(folder, { recursive: true, force: true });
});

let files = 0;
/** A fresh SQLite file and a bus over it for seeding and checking. */
function openFile(): { path: string; store: string; bus: EventBus; storage: EventStorage } {
  files += 1;
  const path = join(folder, `events-${files}.sqlite`);
  const storage = sqliteStorage({ database: openDatabase(path), closeDatabase: true });
  return { path, store: `sqlite:${path}`, bus: new EventBus({ storage, closeStorage: true }), storage };
}

async function allWire(bus: EventBus): Promise<string[]> {
  return (await bus.listEventsJsonPage({ limit: 1000 })).json;
}

describe("help and usage errors", () => {
  it("--help lists every command, and each command's help has examples", async () => {
    const top = await runCli(cli, ["--help"]);
    expect(top.code).toBe(0);
    for (const name of [
      "list",
      "get",
      "tail",
      "export",
      "import",
      "prune",
      "consumers",
      "outbox",
      "webhooks",
      "verify",
      "serve",
    ]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
      const own = await runCli(cli, [name, "--help"]);
      expect(own.code).toBe(0);
      expect(own.stdout).toContain(`Usage: ad-seller-events ${name}`);
      expect(own.stdout).toMatch(/Examples:\n {2}ad-seller-events /);
    }
  }, 30_000);

  it("answers a wrong command line with one line naming the flag, and exit code 2", async () => {
    const { store } = openFile();
    const cases: [string[], RegExp][] = [
      [[], /^$/],
      [["lst"], /^ad-seller-events: lst: unknown command; did you mean list\?$/],
      [
        ["list", "--typ", "deal.*", "--store", store],
        /^ad-seller-events list: --typ: unknown flag for "list"; did you mean --type\?$/,
      ],
      [
        ["list", "--limit", "0", "--store", store],
        /^ad-seller-events list: --limit: must be a whole number from 1 to 1000, got "0"$/,
      ],
      [
        ["list", "--type", "deals.*", "--store", store],
        /^ad-seller-events list: --type: "deals\.\*" is not an event type or pattern; did you mean "deal\.\*"\?$/,
      ],
      [["list", "--since", "yesterday", "--store", store], /^ad-seller-events list: --since: /],
      [
        ["list", "--after", "a", "--before", "b", "--store", store],
        /^ad-seller-events list: --before: cannot be used with --after/,
      ],
      [
        ["tail", "--since", "2026-11-24T00:00:00Z", "--after", "a", "--store", store],
        /^ad-seller-events tail: --since: cannot be used with --after; the tail starts at one of them$/,
      ],
      [
        ["prune", "--older-than", "30d", "--before", "2026-11-24T00:00:00Z", "--store", store],
        /^ad-seller-events prune: --older-than: cannot be used with --before; give one of them$/,
      ],
      [["list"], /^ad-seller-events list: --store: name the store, e\.g\. --store sqlite:/],
      [["list", "--store", "mysql://x"], /^ad-seller-events list: --store: "mysql:\/\/x" is not a store URL/],
      [["list", "--store", "memory:"], /^ad-seller-events list: --store: memory: holds nothing outside this process/],
      [
        ["list", "--store", store, "--prefix", "x:"],
        /^ad-seller-events list: --prefix: applies to redis:\/\/ stores only$/,
      ],
      [
        ["export", "--format", "cvs", "--store", store],
        /^ad-seller-events export: --format: "cvs" is not a format; use jsonl, csv, cloudevents or iab; did you mean "csv"\?$/,
      ],
      [
        ["prune", "--store", store],
        /^ad-seller-events prune: --before: prune needs --before <time> or --older-than <age>$/,
      ],
      [
        ["prune", "--older-than", "90 days", "--store", store],
        /^ad-seller-events prune: --older-than: must be a number and a unit/,
      ],
      [["get", "--store", store], /^ad-seller-events get: <event-id>: get needs the event_id/],
      [["list", "--json=yes", "--store", store], /^ad-seller-events list: --json: takes no value$/],
      [
        ["consumers", "stats", "x", "--store", store],
        /^ad-seller-events consumers: <action>: consumers takes status or dead-letters; did you mean "status"\?$/,
      ],
      [
        ["serve", "--port", "70000", "--store", "memory:"],
        /^ad-seller-events serve: --port: must be a whole number from 0 to 65535/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(cli, args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      if (args.length > 0) expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      if (args.length > 0) expect(result.stderr.trimEnd()).toMatch(message);
    }
  }, 30_000);

  it("a missing SQLite file is a one-line failure (exit 1), never a new empty store", async () => {
    const path = join(folder, "missing.sqlite");
    const result = await runCli(cli, ["list", "--store", `sqlite:${path}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ad-seller-events list: --store: no SQLite file at ${path} (reading commands never create one)\n`,
    );
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
  });
});

describe("list and get", () => {
  it("list prints the page as JSON Lines when piped, with the filters of GET /events; the store comes from the environment too", async () => {
    const { bus, store } = openFile();
    await bus.emitEvents([
      { event_type: "deal.created", deal_id: "d-1" },
      { event_type: "session.created", session_id: "s-1" },
      { event_type: "deal.synced", deal_id: "d-1" },
      { event_type: "deal.created", deal_id: "d-2" },
    ]);
    const wire = await allWire(bus);
    await bus.close();
    const all = await runCli(cli, ["list"], { env: cliEnv({ AD_SELLER_EVENTS_STORE: store }) });
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`${wire.join("\n")}\n`);
    const deals = await runCli(cli, ["list", "--store", store, "--type", "deal.*", "--deal", "d-1"]);
    expect(deals.stdout).toBe(`${[wire[0], wire[2]].join("\n")}\n`);
    const window = await runCli(cli, [
      "list",
      "--store",
      store,
      "--limit",
      "2",
      "--after",
      JSON.parse(wire[0] as string).event_id,
    ]);
    expect(window.stdout).toBe(`${[wire[1], wire[2]].join("\n")}\n`);
  });

  it("get prints the stored event; an id the store does not hold exits 1", async () => {
    const { bus, store } = openFile();
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1", payload: { cpm: 12.5 } });
    await bus.close();
    const found = await runCli(cli, ["get", event.event_id, "--store", store]);
    expect(found).toMatchObject({ code: 0, stdout: `${JSON.stringify(event)}\n` });
    const missing = await runCli(cli, ["get", crypto.randomUUID(), "--store", store]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^get: the store holds no event [0-9a-f-]{36}\n$/);
  });

  it("on a terminal: aligned lines in local time, coloured by type group; NO_COLOR and --json respected", async () => {
    const { bus, store } = openFile();
    await bus.emitEvent({
      event_type: "deal.created",
      deal_id: "d-1",
      timestamp: "2026-11-24T10:15:30.123Z",
      payload: { cpm: 12 },
    });
    await bus.emitEvent({ event_type: "negotiation.round", session_id: "s-1", timestamp: "2026-11-24T10:15:31.000Z" });
    await bus.close();
    const onTerminal = async (env: Record<string, string>, extra = "") => {
      const command = `${process.execPath} ${cli.path} list --store ${store}${extra}`;
      const { stdout } = await promisify(execFile)("script", ["-qec", command, "/dev/null"], {
        env: cliEnv({ TZ: "Europe/Paris", ...env }),
      });
      return stdout.replaceAll("\r", "");
    };
    const coloured = await onTerminal({});
    expect(coloured).toContain("\x1b[32mdeal.created          \x1b[0m");
    expect(coloured).toContain("\x1b[91mnegotiation.round     \x1b[0m");
    const plain = await onTerminal({ NO_COLOR: "1" });
    expect(plain).toBe(
      '2026-11-24 11:15:30.123  deal.created          deal=d-1  {"cpm":12}\n' +
        "2026-11-24 11:15:31.000  negotiation.round     session=s-1  {}\n",
    );
    const forced = await onTerminal({}, " --json");
    expect(forced.split("\n")[0]).toMatch(/^\{"event_id":/);
  });
});

describe("import", () => {
  it("imports the Python agent's audit fallback file; a second import stores nothing twice", async () => {
    const { bus, store } = openFile();
    const first = await runCli(cli, ["import", FIXTURE, "--format", "audit-fallback", "--store", store]);
    // The fixture's last line is torn (the Python process died mid-write): reported, and the exit code says so.
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/^import: line 6: /m);
    expect(first.stderr).toMatch(/: 5 imported, 0 already stored, 1 rejected\n$/);
    const stored = await allWire(bus);
    expect(stored).toHaveLength(5);
    const second = await runCli(cli, ["import", FIXTURE, "--format", "audit-fallback", "--store", store]);
    expect(second.stderr).toMatch(/: 0 imported, 5 already stored, 1 rejected\n$/);
    expect(await allWire(bus)).toEqual(stored);
    await bus.close();
  });

  it("imports JSON Lines of wire events idempotently and rejects bad lines by number", async () => {
    const { bus, store } = openFile();
    const source = openFile();
    await source.bus.emitEvents([{ event_type: "deal.created" }, { event_type: "session.created" }]);
    const wire = await allWire(source.bus);
    await source.bus.close();
    const file = join(folder, "wire.jsonl");
    const conflicting = JSON.stringify({ ...JSON.parse(wire[0] as string), deal_id: "changed" });
    await writeFile(file, `${wire.join("\n")}\n\nnot json\n{"event_type":"deal.created"}\n`);
    const first = await runCli(cli, ["import", file, "--store", store]);
    expect(first.stderr).toMatch(/^import: line 4: not JSON: not json$/m);
    expect(first.stderr).toMatch(/^import: line 5: line 5 does not hold a valid event: event_id: /m);
    expect(first.stderr).toMatch(/: 2 imported, 0 already stored, 2 rejected\n$/);
    expect(first.code).toBe(1);
    await writeFile(file, `${wire.join("\n")}\n${conflicting}\n`);
    const second = await runCli(cli, ["import", file, "--store", store]);
    expect(second.stderr).toMatch(/is stored with different content; kept the stored one\n/);
    expect(second.stderr).toMatch(/: 0 imported, 2 already stored, 1 rejected\n$/);
    expect(await allWire(bus)).toEqual(wire);
    await bus.close();
  });
});

describe("export", () => {
  it("export, then import into another store, gives the same events byte for byte (several pages)", async () => {
    const source = openFile();
    for (let start = 0; start < 2_500; start += 500) {
      await source.bus.emitEvents(
        Array.from({ length: 500 }, (_, index) => ({
          event_type: "negotiation.round" as const,
          session_id: `s-${(start + index) % 7}`,
          payload: { round: start + index, note: 'quote " and, comma\nnew line ü' },
        })),
      );
    }
    await source.bus.close();
    const exported = join(folder, "export.jsonl");
    const run = await runCli(cli, ["export", "--store", source.store, "--output", exported]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^export: 2,500 events in [\d.]+s/);
    const target = openFile();
    await target.bus.close();
    expect((await runCli(cli, ["import", exported, "--store", target.store])).code).toBe(0);
    const again = await runCli(cli, ["export", "--store", target.store]);
    expect(again.stdout).toBe(await readFile(exported, "utf8"));
    expect(again.stdout.split("\n")).toHaveLength(2_501);
  });

  it("on a terminal, progress on stderr: count, total, rate and ETA, then the summary on a clean line", async () => {
    const { bus, store } = openFile();
    await bus.emitEvents(Array.from({ length: 2_000 }, () => ({ event_type: "session.created" as const })));
    await bus.close();
    const output = join(folder, "progress.jsonl");
    // `script` gives the binary a terminal for stderr (and stdout); the events go to a file.
    const command = `${process.execPath} ${cli.path} export --store ${store} --output ${output}`;
    const { stdout } = await promisify(execFile)("script", ["-qec", command, "/dev/null"], { env: cliEnv() });
    const clearLine = "\r\x1b[2K";
    expect(stdout).toContain(`${clearLine}exported 1,000 of 2,000 events  `);
    expect(stdout).toMatch(/exported 1,000 of 2,000 events {2}[\d,]+\/s {2}ETA \d+s/);
    expect(stdout).toContain(`${clearLine}export: 2,000 events in `);
    expect((await readFile(output, "utf8")).split("\n")).toHaveLength(2_001);
  });

  it("import - reads stdin: an export piped into an import of another store", async () => {
    const source = openFile();
    await source.bus.emitEvents(
      Array.from({ length: 1_200 }, (_, round) => ({ event_type: "negotiation.round" as const, payload: { round } })),
    );
    await source.bus.close();
    const target = openFile();
    const shell = `${process.execPath} ${cli.path} export --store ${source.store} | ${process.execPath} ${cli.path} import - --store ${target.store}`;
    const { stderr } = await promisify(execFile)("bash", ["-o", "pipefail", "-c", shell], { env: cliEnv() });
    expect(stderr).toMatch(
      /import: 1,200 events in [\d.]+s \([\d,]+\/s\): 1,200 imported, 0 already stored, 0 rejected\n$/,
    );
    expect((await target.bus.listEventsJsonPage({ limit: 1000 })).json).toHaveLength(1000);
    await target.bus.close();
  });

  it("cloudevents and iab: JSON Lines of toCloudEvent and toIabEvent of each event, in store order", async () => {
    const { bus, store } = openFile();
    const events = [
      await bus.emitEvent({ event_type: "approval.denied", deal_id: "d-1", payload: { gate: "price" } }),
      await bus.emitEvent({ event_type: "session.created", session_id: "s-1" }),
    ];
    await bus.close();
    const lines = async (format: string) => {
      const { stdout, code } = await runCli(cli, ["export", "--store", store, "--format", format]);
      expect(code).toBe(0);
      return stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown);
    };
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
    expect(await lines("iab")).toEqual(events.map((event) => plain(toIabEvent(event))));
    expect(await lines("cloudevents")).toEqual(
      events.map((event) => plain(toCloudEvent(event, { source: "/ad-seller-events" }))),
    );
  });

  it("CSV: a header, wire columns, RFC 4180 quoting; filters apply", async () => {
    const { bus, store } = openFile();
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d,1", payload: { note: 'say "hi"' } });
    await bus.emitEvent({ event_type: "session.created" });
    await bus.close();
    const { stdout, code } = await runCli(cli, ["export", "--store", store, "--format", "csv", "--type", "deal.*"]);
    expect(code).toBe(0);
    expect(stdout).toBe(
      "event_id,event_type,timestamp,flow_id,flow_type,proposal_id,deal_id,session_id,payload,metadata\n" +
        `${event.event_id},deal.created,${event.timestamp},${event.flow_id},,,"d,1",,"{""note"":""say \\""hi\\""""}",{}\n`,
    );
  });
});

describe("prune", () => {
  it("counts what would go without deleting, then deletes it with --yes, keeping audit types", async () => {
    const { bus, store } = openFile();
    await bus.emitEvents([
      { event_type: "session.created", timestamp: "2025-01-01T00:00:00.000Z" },
      { event_type: "session.closed", timestamp: "2025-01-02T00:00:00.000Z" },
      { event_type: "session.closed", timestamp: "2025-01-03T00:00:00.000Z" },
      { event_type: "deal.created", timestamp: "2025-01-01T00:00:00.000Z" },
      { event_type: "session.created" },
    ]);
    const before = await allWire(bus);
    const dry = await runCli(cli, ["prune", "--before", "2026-01-01", "--store", store]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(
      '{"event_type":"session.created","events":1,"before":"2026-01-01T00:00:00.000Z"}\n' +
        '{"event_type":"session.closed","events":2,"before":"2026-01-01T00:00:00.000Z"}\n',
    );
    expect(dry.stderr).toBe(
      "prune: dry run: 3 events stamped before 2026-01-01T00:00:00.000Z would go; add --yes to delete them\n",
    );
    expect(await allWire(bus)).toEqual(before);
    const real = await runCli(cli, ["prune", "--before", "2026-01-01", "--store", store, "--yes"]);
    expect(real.code).toBe(0);
    expect(real.stderr).toMatch(
      /^prune: 3 events in [\d.]+s \([\d,]+\/s\) deleted, stamped before 2026-01-01T00:00:00.000Z\n$/,
    );
    expect((await allWire(bus)).map((json) => JSON.parse(json).event_type)).toEqual([
      "deal.created",
      "session.created",
    ]);
    await bus.close();
  });

  it("keeps what a live consumer has not handled unless --ignore-consumers, and refuses --dry-run with --yes", async () => {
    const { bus, store, storage } = openFile();
    const [, handled, unhandled] = await bus.emitEvents([
      { event_type: "session.created", timestamp: "2025-01-01T00:00:00.000Z" },
      { event_type: "session.created", timestamp: "2025-01-02T00:00:00.000Z" },
      { event_type: "session.created", timestamp: "2025-01-03T00:00:00.000Z" },
      { event_type: "session.closed", timestamp: "2025-01-04T00:00:00.000Z" },
    ]);
    const checkpoints = storage.checkpoints as NonNullable<EventStorage["checkpoints"]>;
    const lease = await checkpoints.acquireLease("crm", "cli-test", 60_000, { event_types: ["session.created"] });
    expect(
      await checkpoints.writeCheckpoint(lease as never, { expected: null, position: handled?.event_id as string }),
    ).toBe(true);
    const dry = await runCli(cli, ["prune", "--before", "2026-01-01", "--dry-run", "--store", store]);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain(
      'prune: consumer "crm" keeps those stamped from 2025-01-01T23:59:00.000Z of 1 type(s)',
    );
    expect(dry.stderr).toContain(
      "prune: dry run: 2 events stamped before 2026-01-01T00:00:00.000Z would go (2 more held back",
    );
    const both = await runCli(cli, ["prune", "--before", "2026-01-01", "--dry-run", "--yes", "--store", store]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--dry-run: cannot be used with --yes/);
    expect((await runCli(cli, ["prune", "--before", "2026-01-01", "--yes", "--store", store])).code).toBe(0);
    expect((await allWire(bus)).map((json) => JSON.parse(json).event_id)).toEqual([
      handled?.event_id,
      unhandled?.event_id,
    ]);
    const ignoring = await runCli(cli, [
      "prune",
      "--before",
      "2026-01-01",
      "--ignore-consumers",
      "--yes",
      "--store",
      store,
    ]);
    expect(ignoring.code).toBe(0);
    expect(await allWire(bus)).toEqual([]);
    await bus.close();
  });
});
