// The built binary against the real PostgreSQL and Redis servers: an export moved SQLite -> PostgreSQL -> Redis
// stays byte for byte the same; list, get, tail, prune and the Python fixture on each; unreachable servers fail in
// one line.
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus } from "../../src/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { uniqueName } from "../fixtures/postgres-tables.js";
import { deleteStore, uniquePrefix } from "../fixtures/redis-store.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";
import { type BuiltCli, buildCli, runCli, startCli, waitForOutput } from "./cli-process.js";

const FIXTURE = resolve(import.meta.dirname, "../fixtures/python-audit-fallback.jsonl");
const hasPostgres = await serviceAvailable("PostgreSQL", PG_URL);
const hasRedis = await serviceAvailable("Redis", REDIS_URL);
const tables: string[] = [];
const prefixes: string[] = [];
/** better-sqlite3 on Node 20, node:sqlite on Node 24 (the binary picks the same way). */
const openDatabase = await loadAnySqlite();
let cli: BuiltCli;
let folder: string;

beforeAll(async () => {
  cli = await buildCli();
  folder = await mkdtemp(join(tmpdir(), "cli-stores-"));
}, 60_000);

afterAll(async () => {
  await cli?.remove();
  if (folder) await rm(folder, { recursive: true, force: true });
  if (hasPostgres && tables.length > 0) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    for (const table of tables) {
      const { rows } = await client.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
        [`${table}%`],
      );
      for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS public."${tablename}" CASCADE`);
    }
    await client.end();
  }
  if (hasRedis && prefixes.length > 0) {
    const admin = new Redis(REDIS_URL);
    for (const prefix of prefixes) await deleteStore(admin, prefix);
    admin.disconnect();
  }
});

/** The flags that name a fresh store of the given kind. */
function freshStore(kind: "postgres" | "redis"): string[] {
  if (kind === "postgres") {
    const table = uniqueName("cli");
    tables.push(table);
    return ["--store", PG_URL, "--table", table];
  }
  const prefix = uniquePrefix("cli");
  prefixes.push(prefix);
  return ["--store", REDIS_URL, "--prefix", prefix];
}

describe.runIf(hasPostgres && hasRedis)("PostgreSQL and Redis", () => {
  it("an export moved SQLite -> PostgreSQL -> Redis and exported again is the same file, byte for byte", async () => {
    const path = join(folder, "source.sqlite");
    const bus = new EventBus({
      storage: sqliteStorage({ database: openDatabase(path), closeDatabase: true }),
      closeStorage: true,
    });
    for (let start = 0; start < 2_400; start += 600) {
      await bus.emitEvents(
        Array.from({ length: 600 }, (_, index) => ({
          event_type: index % 2 === 0 ? ("deal.created" as const) : ("negotiation.round" as const),
          deal_id: `d-${index % 9}`,
          payload: { round: start + index, text: 'ünïcode, "quotes"\n', big: 2 ** 53 - 1 },
        })),
      );
    }
    await bus.close();
    const original = join(folder, "original.jsonl");
    expect((await runCli(cli, ["export", "--store", `sqlite:${path}`, "-o", original])).code).toBe(0);
    let previous = original;
    for (const kind of ["postgres", "redis"] as const) {
      const store = freshStore(kind);
      const imported = await runCli(cli, ["import", previous, ...store]);
      expect({ kind, code: imported.code, stderr: imported.stderr }).toMatchObject({
        kind,
        code: 0,
        stderr: expect.stringMatching(/: 2,400 imported, 0 already stored, 0 rejected\n$/),
      });
      const again = await runCli(cli, ["import", previous, ...store]);
      expect(again.stderr).toMatch(/: 0 imported, 2,400 already stored, 0 rejected\n$/);
      const exported = join(folder, `${kind}.jsonl`);
      expect((await runCli(cli, ["export", ...store, "-o", exported])).code).toBe(0);
      expect(await readFile(exported, "utf8")).toBe(await readFile(original, "utf8"));
      previous = exported;
      const [first] = (await readFile(original, "utf8")).split("\n");
      const got = await runCli(cli, ["get", JSON.parse(first as string).event_id, ...store]);
      expect(got.stdout).toBe(`${first}\n`);
      const listed = await runCli(cli, ["list", ...store, "--type", "deal.*", "--deal", "d-0", "--limit", "3"]);
      expect(
        listed.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line).deal_id),
      ).toEqual(["d-0", "d-0", "d-0"]);
    }
  }, 60_000);

  for (const kind of ["postgres", "redis"] as const) {
    it(`${kind}: the Python fixture twice stores nothing twice; prune dry run, then --yes; tail until SIGINT`, async () => {
      const store = freshStore(kind);
      await runCli(cli, ["import", FIXTURE, "--format", "audit-fallback", ...store]);
      const second = await runCli(cli, ["import", FIXTURE, "--format", "audit-fallback", ...store]);
      expect(second.stderr).toMatch(/: 0 imported, 5 already stored, 1 rejected\n$/);
      expect((await runCli(cli, ["export", ...store])).stdout.trim().split("\n")).toHaveLength(5);

      // The fixture's events are from 2026-11-24; only non-audit types go by default: none of the five.
      const dry = await runCli(cli, ["prune", "--before", "2027-01-01", ...store]);
      expect(dry).toMatchObject({ code: 0, stdout: "" });
      const auditToo = await runCli(cli, ["prune", "--before", "2027-01-01", "--type", "deal.*", ...store]);
      expect(
        auditToo.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line)),
      ).toEqual([{ event_type: "deal.created", events: 1, before: "2027-01-01T00:00:00.000Z" }]);
      expect((await runCli(cli, ["export", ...store])).stdout.trim().split("\n")).toHaveLength(5);
      await runCli(cli, ["prune", "--before", "2027-01-01", "--type", "deal.*", "--yes", ...store]);
      const left = (await runCli(cli, ["export", ...store])).stdout.trim().split("\n");
      expect(left.map((line) => JSON.parse(line).event_type)).not.toContain("deal.created");
      expect(left).toHaveLength(4);

      const child = startCli(cli, ["tail", ...store, "--since", "2020-01-01T00:00:00Z"]);
      let stdout = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      await waitForOutput(child.stdout, () => stdout.split("\n").length > 4);
      child.kill("SIGINT");
      const [code] = await once(child, "close");
      expect(code).toBe(0);
      expect(stdout.trim().split("\n")).toEqual(left);
    }, 30_000);
  }
});

describe("unreachable servers", () => {
  for (const url of ["postgres://postgres@127.0.0.1:1/test", "redis://127.0.0.1:1"]) {
    it(`${url.split(":")[0]}: one line naming the failure, exit 1`, async () => {
      const result = await runCli(cli, ["list", "--store", url]);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^ad-seller-events list: --store (postgres|redis):\/\/[^ ]*127\.0\.0\.1:1[^ ]*: .*ECONNREFUSED/,
      );
    }, 20_000);
  }
});
