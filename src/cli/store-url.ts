import { existsSync } from "node:fs";
import { EventBus } from "../bus/event-bus.js";
import type { EventOutbox } from "../bus/write/outbox-contract.js";
import { EventValidationError } from "../errors/error-classes.js";
import type { SqliteDatabase } from "../storage/sqlite/sqlite-driver.js";
import type { EventStorage } from "../storage/types.js";
import { UsageError } from "./cli-args.js";

/** Where the store is and how the adapter names its objects, from `--store`/`AD_SELLER_EVENTS_STORE`, `--table`, `--prefix`. */
export interface StoreLocation {
  readonly url: string;
  readonly table?: string | undefined;
  readonly prefix?: string | undefined;
}

/** How a command uses the store: reading only (the store must exist) or writing (a new SQLite file may be made). */
export type StoreAccess = "read" | "write";

/** What a command may open: `memory:` makes sense only where the process itself fills and serves it. */
export interface OpenStoreRules {
  readonly access: StoreAccess;
  readonly allowMemory?: boolean;
  /** An outbox for the bus (the `outbox replay` command). */
  readonly outbox?: EventOutbox;
}

export const STORE_ENV = "AD_SELLER_EVENTS_STORE";
const SCHEMES = "sqlite:<file>, postgres://..., redis://... (or memory: for serve)";

/**
 * Opens the store a URL names and a bus over it; the bus owns (and closes) the adapter and its client. Drivers are
 * imported only for the scheme used, so a PostgreSQL user needs no SQLite addon and the reverse.
 */
export async function openStore(location: StoreLocation, rules: OpenStoreRules): Promise<EventBus> {
  const url = location.url;
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase();
  if (location.table !== undefined && !(scheme === "sqlite:" || scheme?.startsWith("postgres"))) {
    throw new UsageError("--table", "applies to sqlite: and postgres:// stores only");
  }
  if (location.prefix !== undefined && !scheme?.startsWith("redis")) {
    throw new UsageError("--prefix", "applies to redis:// stores only");
  }
  const storage = await openStorage(scheme, location, rules).catch((error: unknown) => {
    // The adapter checks its own options: restate a bad table name or prefix as the flag it came from.
    const issue = error instanceof EventValidationError ? error.issues[0] : undefined;
    const option = String(issue?.path[0] ?? "");
    if (issue !== undefined && (option === "table" || option === "prefix"))
      throw new UsageError(`--${option}`, issue.message);
    throw error;
  });
  return new EventBus({ storage, closeStorage: true, onListenerError: () => undefined, outbox: rules.outbox });
}

async function openStorage(scheme: string | undefined, location: StoreLocation, rules: OpenStoreRules) {
  switch (scheme) {
    case "sqlite:":
      return openSqlite(location, rules.access);
    case "postgres:":
    case "postgresql:":
      return openPostgres(location);
    case "redis:":
    case "rediss:":
      return openRedis(location);
    case "memory:": {
      if (rules.allowMemory !== true) {
        throw new UsageError(
          "--store",
          "memory: holds nothing outside this process; name a sqlite:, postgres:// or redis:// store",
        );
      }
      const { memoryStorage } = await import("../storage/memory/memory-storage.js");
      return memoryStorage();
    }
    default:
      throw new UsageError("--store", `"${location.url.slice(0, 80)}" is not a store URL; use ${SCHEMES}`);
  }
}

async function openSqlite(location: StoreLocation, access: StoreAccess): Promise<EventStorage> {
  // sqlite:./events.sqlite, sqlite:/abs/path, or sqlite:///abs/path.
  const path = location.url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
  if (path === "") throw new UsageError("--store", "sqlite: needs a file, e.g. sqlite:./events.sqlite");
  if (access === "read" && !existsSync(path)) {
    throw new StoreOpenError(`--store: no SQLite file at ${path} (reading commands never create one)`);
  }
  const database = await loadSqlite(path);
  const { sqliteStorage } = await import("../storage/sqlite/sqlite-storage.js");
  return sqliteStorage({ database, closeDatabase: true, table: location.table });
}

/**
 * better-sqlite3 where it loads; else `node:sqlite` (Node >= 22.5), e.g. on a Node whose ABI the installed addon was
 * not built for. The adapter takes either.
 */
async function loadSqlite(path: string): Promise<SqliteDatabase> {
  let addonError: unknown;
  try {
    const { default: Database } = await import("better-sqlite3");
    return new Database(path);
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_CANTOPEN") throw error;
    addonError = error;
  }
  const DatabaseSync = await importNodeSqlite();
  if (DatabaseSync === undefined) {
    const reason = (addonError as Error).message.split("\n")[0];
    throw new StoreOpenError(
      `--store: sqlite: needs the better-sqlite3 package (npm install better-sqlite3): ${reason}`,
    );
  }
  return new DatabaseSync(path);
}

/** `node:sqlite`'s class, without the one-time "experimental" warning that would break one-line output. */
async function importNodeSqlite() {
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    if (!String(warning).includes("SQLite")) Reflect.apply(emitWarning, process, [warning, ...rest]);
  };
  try {
    // A variable specifier: the types of Node 20 have no node:sqlite, and the bundler must leave it alone.
    const specifier = "node:sqlite";
    const module = (await import(specifier)) as { DatabaseSync: new (path: string) => SqliteDatabase };
    return module.DatabaseSync;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
}

async function openPostgres(location: StoreLocation): Promise<EventStorage> {
  const pg = await importDriver<typeof import("pg")>("pg", "postgres://");
  const pool = new pg.default.Pool({ connectionString: location.url, max: 4, connectionTimeoutMillis: 5_000 });
  // An idle client dropped by the server would otherwise crash the process.
  pool.on("error", () => undefined);
  const { postgresStorage } = await import("../storage/postgres/postgres-storage.js");
  return postgresStorage({ pool, closePool: true, table: location.table });
}

async function openRedis(location: StoreLocation): Promise<EventStorage> {
  const ioredis = await importDriver<typeof import("ioredis")>("ioredis", "redis://");
  // Fail fast when the server is unreachable: one connection attempt, no queue of commands waiting for one.
  const client = new ioredis.Redis(location.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    // ioredis rejects with "Connection is closed."; the socket's own error says why.
    const reason = (lastError ?? (error as Error)).message;
    throw new StoreOpenError(`--store ${redact(location.url)}: cannot reach Redis: ${reason}`);
  }
  const { redisStorage } = await import("../storage/redis/redis-storage.js");
  return redisStorage({ client, closeClient: true, prefix: location.prefix });
}

async function importDriver<Module>(name: string, scheme: string): Promise<Module> {
  try {
    return (await import(name)) as Module;
  } catch {
    throw new StoreOpenError(`--store: ${scheme} stores need the ${name} package (npm install ${name})`);
  }
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}

/** The store could not be opened (a missing file, an unreachable server): exit 1, one line. */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}
