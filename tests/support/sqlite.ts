// Helpers of tests/storage/sqlite.test.ts: driver loading, a writer in a child process, and schema inspection.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Event, eventSchema } from "../../src/index.js";
import type { SqliteDatabase, SqliteDriverName } from "../../src/storage/sqlite/index.js";

const nodeMajor = Number(process.versions.node.split(".")[0]);

/** Opens a connection of one driver flavour on a file. */
export type OpenDatabase = (file: string) => SqliteDatabase;

const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Starts a Node process that, once `start()` is called, emits `count` rounds into `file` through its own bus. */
export function appendFromChildProcess(driver: SqliteDriverName, file: string, count: number) {
  const source = (path: string) => JSON.stringify(join(repositoryRoot, "src", path));
  const openDatabase =
    driver === "better-sqlite3"
      ? `new (await import("better-sqlite3")).default(${JSON.stringify(file)})`
      : `new (await import("node:sqlite")).DatabaseSync(${JSON.stringify(file)})`;
  const code = `
    const { EventBus } = await import(${source("index.ts")});
    const { sqliteStorage } = await import(${source("storage/sqlite/index.ts")});
    const bus = new EventBus({ storage: sqliteStorage({ database: ${openDatabase}, closeDatabase: true }), closeStorage: true });
    await bus.emitEvent({ event_type: "session.created", flow_id: "child" });
    process.stdout.write("ready\\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
    for (let index = 0; index < ${count}; index++) {
      await bus.emitEvent({ event_type: "negotiation.round", flow_id: "child", payload: { index } });
    }
    await bus.close();`;
  const child = spawn(process.execPath, ["--no-warnings", "--import", "tsx", "--input-type=module", "-e", code], {
    cwd: repositoryRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exitCode = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    exitCode.then((code) => reject(new Error(`the child process exited with ${code} before it was ready`)), reject);
  });
  // Both writers start on the same signal, so that their transactions contend for the lock.
  const start = () => child.stdin.end("go\n");
  return { ready, start, exitCode };
}

export function buildEvent(fields: Partial<Record<keyof Event, unknown>> = {}): Event {
  return Object.freeze(
    eventSchema.parse({
      event_id: crypto.randomUUID(),
      event_type: "deal.created",
      timestamp: new Date().toISOString(),
      ...fields,
    }),
  );
}

export function pragma(database: SqliteDatabase, name: string): unknown {
  const row = database.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return Object.values(row)[0];
}

export function countRows(database: SqliteDatabase, table: string): number {
  return Number((database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number | bigint }).n);
}

export function schemaOf(database: SqliteDatabase): string[] {
  const rows = database.prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").all();
  return (rows as { sql: string }[]).map((row) => row.sql);
}

export function indexesOf(database: SqliteDatabase, table: string): Record<string, string[]> {
  const indexes = database.prepare(`PRAGMA index_list(${table})`).all() as { name: string; origin: string }[];
  const created = indexes.filter((index) => index.origin === "c").map((index) => index.name);
  return Object.fromEntries(
    created.sort().map((name) => {
      const columns = database.prepare(`PRAGMA index_info(${name})`).all() as { name: string }[];
      return [name, columns.map((column) => column.name)];
    }),
  );
}

export function planOf(database: SqliteDatabase, statement: { sql: string; params: unknown[] }): string {
  const rows = database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...(statement.params as string[]));
  return (rows as { detail: string }[]).map((row) => row.detail).join("\n");
}

export function closeQuietly(database: SqliteDatabase): void {
  try {
    database.close();
  } catch {
    // Already closed by the test (node:sqlite throws on a second close; better-sqlite3 does not).
  }
}

export async function loadBetterSqlite3(): Promise<OpenDatabase | undefined> {
  if (nodeMajor < 20 || nodeMajor > 23) {
    console.warn(
      `\n!!!!! NOT RUNNING the better-sqlite3 flavour of the sqlite suites on Node ${process.versions.node}: ` +
        "its native addon is built for Node 20's ABI. The Node 20 CI pass runs it. !!!!!\n",
    );
    return undefined;
  }
  const { default: Database } = await import("better-sqlite3");
  return (file) => new Database(file);
}

export async function loadNodeSqlite(): Promise<OpenDatabase | undefined> {
  // A variable specifier: @types/node for Node 20 has no node:sqlite, and the bundler must not try to resolve it.
  const specifier = "node:sqlite";
  let module: { DatabaseSync: new (file: string) => SqliteDatabase };
  try {
    module = await import(specifier);
  } catch {
    console.warn(
      `\n!!!!! NOT RUNNING the node:sqlite flavour of the sqlite suites on Node ${process.versions.node}: ` +
        "node:sqlite needs Node >= 22.5. The Node 24 CI pass runs it. !!!!!\n",
    );
    return undefined;
  }
  return (file) => new module.DatabaseSync(file);
}

/** Whether this Node can load better-sqlite3's native addon (built for Node 20's ABI; the Node 24 pass cannot). */
export function betterSqlite3Loads(): boolean {
  return nodeMajor >= 20 && nodeMajor <= 23;
}

/**
 * Opens SQLite connections with whichever driver this Node runs: better-sqlite3 on Node 20 to 23, `node:sqlite`
 * after. For tests about something other than the driver (consumers, HTTP bodies, live delivery), so that both CI
 * passes run them; the sqlite suites test each driver by name.
 */
export async function loadAnySqlite(): Promise<OpenDatabase> {
  if (betterSqlite3Loads()) {
    const { default: Database } = await import("better-sqlite3");
    return (file) => new Database(file);
  }
  // A variable specifier: @types/node for Node 20 has no node:sqlite, and the bundler must not try to resolve it.
  const specifier = "node:sqlite";
  const module: { DatabaseSync: new (file: string) => SqliteDatabase } = await import(specifier);
  return (file) => new module.DatabaseSync(file);
}
