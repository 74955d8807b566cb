import { execFile } from "node:child_process";
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_URL, REDIS_URL, serviceAvailable } from "./support/services.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
let consumer = "";

/**
 * Builds the library, packs it as npm would publish it, and unpacks the tarball into an empty project that has
 * only zod next to it, and `@opentelemetry/api`, the one optional peer an entry (`/otel`) loads: no database driver,
 * no broker client (`/nats` and `/amqp` use the caller's client and load nothing), no web framework, no dev tooling.
 */
beforeAll(async () => {
  await run("npx", ["tsup", "--silent"], { cwd: root });
  consumer = await mkdtemp(join(tmpdir(), "ad-seller-events-consumer-"));
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", consumer], { cwd: root });
  const tarball = join(consumer, stdout.trim().split("\n").at(-1) as string);
  const installed = join(consumer, "node_modules", "ad-seller-events");
  await mkdir(installed, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  await mkdir(join(consumer, "node_modules", "@opentelemetry"), { recursive: true });
  for (const dependency of ["zod", "@opentelemetry/api"]) {
    await symlink(join(root, "node_modules", dependency), join(consumer, "node_modules", dependency), "dir");
  }
}, 180_000);

afterAll(async () => {
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

async function runScript(name: string, source: string): Promise<string> {
  await writeFile(join(consumer, name), source);
  const { stdout } = await run(process.execPath, [name], { cwd: consumer });
  return stdout.trim();
}

const ENTRIES = [
  "ad-seller-events",
  "ad-seller-events/http",
  "ad-seller-events/sqlite",
  "ad-seller-events/postgres",
  "ad-seller-events/redis",
  "ad-seller-events/testing",
  "ad-seller-events/outbox",
  "ad-seller-events/storage",
  "ad-seller-events/webhooks",
  "ad-seller-events/interop",
  "ad-seller-events/nats",
  "ad-seller-events/amqp",
  "ad-seller-events/otel",
  "ad-seller-events/audit",
];

const USAGE = `
  const bus = new EventBus();
  const event = await bus.emitEvent({ event_type: EventType.DEAL_CREATED, deal_id: "d-1", payload: { cpm: 12 } });
  const listed = await bus.listEvents({ deal_id: "d-1" });
  const test = createTestBus();
  await test.emitEvent({ event_type: "session.created" });
  const crossEntry = await test.listEvents({ limit: 0 }).catch((error) => error instanceof EventValidationError);
  let invalid = "";
  try { await bus.listEvents({ limit: 0 }); } catch (error) { invalid = error instanceof EventValidationError ? error.message : "wrong class"; }
  console.log(JSON.stringify({
    types: EVENT_TYPES.length,
    frozen: Object.isFrozen(event.payload),
    listed: listed.length,
    sameEvent: (await bus.getEvent(event.event_id)) === event,
    testId: test.expectEmitted("session.created").event_id,
    invalid,
    http: typeof createEventsHandler,
    crossEntry,
  }));
`;

const EXPECTED = {
  types: 22,
  frozen: true,
  listed: 1,
  sameEvent: true,
  testId: "00000000-0000-4000-8000-000000000001",
  invalid: "[ad-seller-events] limit: must be an integer from 1 to 1000, got 0",
  http: "function",
  crossEntry: true,
};

describe("the packed package", () => {
  it("ships dist, the docs pages the README links to, and the license", async () => {
    const installed = join(consumer, "node_modules", "ad-seller-events");
    const files = await readdir(installed);
    expect(files.sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "dist", "docs", "package.json"]);
    // Every relative link of the README resolves inside the package, so it works from the npm page and node_modules.
    const readme = await readFile(join(installed, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(((?!https?:)[^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1] as string);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) await expect(access(join(installed, link)), link).resolves.toBeUndefined();
  });

  it("requires every entry from CommonJS with require(esm) turned off", async () => {
    const script = ENTRIES.map((entry) => `require(${JSON.stringify(entry)});`).join(" ");
    const { stdout } = await run(
      process.execPath,
      ["--no-experimental-require-module", "-e", `${script} console.log("loaded")`],
      { cwd: consumer },
    );
    expect(stdout.trim()).toBe("loaded");
  });

  it("recognises an error of the CJS copy with the ESM copy's guard, and back, by code", async () => {
    const output = await runScript(
      "dual.mjs",
      `import { createRequire } from "node:module";
       import * as esm from "ad-seller-events";
       const cjs = createRequire(import.meta.url)("ad-seller-events");
       const fromCjs = new cjs.EventValidationError([]);
       const fromEsm = new esm.StorageError("memory", "append", new Error("x"));
       console.log(JSON.stringify({
         distinctCopies: cjs.EventValidationError !== esm.EventValidationError,
         instanceofFails: !(fromCjs instanceof esm.EventValidationError),
         esmGuard: esm.EventValidationError.is(fromCjs),
         cjsGuard: cjs.StorageError.is(fromEsm) && cjs.EventBusError.is(fromEsm),
         wrongClass: esm.StorageError.is(fromCjs),
         codes: [fromCjs.code, fromEsm.code],
       }));`,
    );
    expect(JSON.parse(output)).toEqual({
      distinctCopies: true,
      instanceofFails: true,
      esmGuard: true,
      cjsGuard: true,
      wrongClass: false,
      codes: ["ERR_EVENT_VALIDATION", "ERR_STORAGE"],
    });
  });

  it("runs a Jest 30 test file in CommonJS (default config) requiring every entry", async (context) => {
    const folder = join(consumer, "jest-consumer");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "package.json"), JSON.stringify({ name: "jest-consumer", private: true }));
    // From the npm cache when it holds jest, else from the registry; offline without a cache, a loud skip.
    const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "jest@30"], {
      cwd: folder,
      timeout: 240_000,
    }).catch((error: Error) => error);
    if (install instanceof Error) {
      console.warn(`SKIPPING the Jest 30 consumer: jest@30 could not be installed (${install.message.split("\n")[0]})`);
      context.skip();
    }
    await symlink(
      join(consumer, "node_modules", "ad-seller-events"),
      join(folder, "node_modules", "ad-seller-events"),
      "dir",
    );
    await symlink(join(root, "node_modules", "zod"), join(folder, "node_modules", "zod"), "dir");
    await writeFile(
      join(folder, "entries.test.js"),
      `const { EventBus, EventValidationError } = require("ad-seller-events");
       const { createTestBus } = require("ad-seller-events/testing");
       ${ENTRIES.map((entry) => `require(${JSON.stringify(entry)});`).join("\n")}
       test("emits through the CommonJS build", async () => {
         const bus = createTestBus();
         const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
         expect(event.event_id).toBe("00000000-0000-4000-8000-000000000001");
         expect(bus.scope().context.flow_id).toBe("flow-1");
         await expect(new EventBus().listEvents({ limit: 0 })).rejects.toThrow(EventValidationError);
       });`,
    );
    const jest = join(folder, "node_modules", "jest", "bin", "jest.js");
    const result = await run(process.execPath, [jest, "--ci"], { cwd: folder }).catch(
      (error: { stderr: string }) => error,
    );
    expect(result.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
  }, 300_000);

  it("type-checks a consumer on legacy moduleResolution node (node10) importing every entry", async () => {
    const folder = join(consumer, "node10");
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, "consumer.ts"),
      `import { EventBus, type Event } from "ad-seller-events";
       import { createEventsHandler } from "ad-seller-events/http";
       import type { SqliteStorageOptions } from "ad-seller-events/sqlite";
       import type { PostgresStorageOptions } from "ad-seller-events/postgres";
       import type { RedisStorageOptions } from "ad-seller-events/redis";
       import { createTestBus } from "ad-seller-events/testing";
       export const handler = createEventsHandler(new EventBus());
       export type Options = SqliteStorageOptions | PostgresStorageOptions | RedisStorageOptions;
       export const first: Promise<Event> = createTestBus().emitEvent({ event_type: "deal.created" });`,
    );
    await writeFile(
      join(folder, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "commonjs",
          moduleResolution: "node",
          target: "es2022",
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: [],
          lib: ["es2023", "dom"],
          typeRoots: [],
        },
        files: ["consumer.ts"],
      }),
    );
    await symlink(join(consumer, "node_modules"), join(folder, "node_modules"), "dir");
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", folder]).catch((error: { stdout: string }) => error);
    expect("stdout" in result ? result.stdout : "").toBe("");
  });

  it("loads from ESM without any database driver or web framework installed, one error class across entries", async () => {
    const output = await runScript(
      "esm.mjs",
      `import { EventBus, EventType, EVENT_TYPES, EventValidationError } from "ad-seller-events";
       import { createTestBus } from "ad-seller-events/testing";
       import { createEventsHandler } from "ad-seller-events/http";
       ${USAGE}`,
    );
    expect(JSON.parse(output)).toEqual(EXPECTED);
  });

  it("loads from CJS, sharing one copy of the error classes across entry points", async () => {
    const output = await runScript(
      "cjs.cjs",
      `const { EventBus, EventType, EVENT_TYPES, EventValidationError } = require("ad-seller-events");
       const { createTestBus } = require("ad-seller-events/testing");
       const { createEventsHandler } = require("ad-seller-events/http");
       (async () => { ${USAGE} })();`,
    );
    expect(JSON.parse(output)).toEqual(EXPECTED);
  });

  it("serves the events page and its assets from the tarball, in ESM and CJS, loading them only when asked", async () => {
    const probe = (load: string) => `
      ${load}
      const handler = createEventsFetchHandler(new EventBus(), { viewer: true });
      const page = await handler(new Request("http://localhost/events/ui"));
      const html = await page.text();
      const assets = [...html.matchAll(/(?:src|href)="(ui\\/[^"]+)"/g)].map((match) => match[1]);
      const answers = await Promise.all(assets.map((path) => handler(new Request("http://localhost/events/" + path))));
      const bodies = await Promise.all(answers.map((answer) => answer.text()));
      console.log(JSON.stringify({
        page: page.status,
        csp: page.headers.get("content-security-policy").startsWith("default-src 'none'"),
        assets: answers.map((answer) => answer.status + " " + answer.headers.get("content-type")),
        nonEmpty: bodies.every((body) => body.length > 1000),
      }));`;
    const expected = {
      page: 200,
      csp: true,
      assets: ["200 text/css; charset=utf-8", "200 text/javascript; charset=utf-8"],
      nonEmpty: true,
    };
    const esm = await runScript(
      "viewer.mjs",
      probe(
        `import { EventBus } from "ad-seller-events"; import { createEventsFetchHandler } from "ad-seller-events/http";`,
      ),
    );
    expect(JSON.parse(esm)).toEqual(expected);
    const cjs = await runScript(
      "viewer.cjs",
      `(async () => { ${probe(`const { EventBus } = require("ad-seller-events"); const { createEventsFetchHandler } = require("ad-seller-events/http");`)} })();`,
    );
    expect(JSON.parse(cjs)).toEqual(expected);
    // The page's text sits in its own chunk, imported on the first /ui request (by whichever chunk holds the HTTP
    // core, which the http entry and the command line share), never statically by any other file.
    const dist = join(consumer, "node_modules", "ad-seller-events", "dist");
    const files = await readdir(dist);
    const chunks = files.filter((name) => /^viewer-pages-.*\.(?:js|cjs)$/.test(name));
    expect(chunks).toHaveLength(2);
    for (const format of [".js", ".cjs"]) {
      const code = files.filter((name) => name.endsWith(format) && !chunks.includes(name));
      const texts = await Promise.all(code.map((name) => readFile(join(dist, name), "utf8")));
      expect(texts.filter((text) => /import\(["']\.\/viewer-pages-/.test(text))).toHaveLength(1);
      for (const text of texts) {
        expect(text).not.toContain("<!doctype html>");
        expect(text).not.toMatch(/(?:from |require\()["']\.\/viewer-pages-/);
      }
    }
  });

  it("type-checks a strict TypeScript consumer (nodenext, isolatedModules, verbatimModuleSyntax)", async () => {
    await cp(join(root, "tests", "fixtures", "consumer.ts"), join(consumer, "consumer.ts"));
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          strict: true,
          isolatedModules: true,
          verbatimModuleSyntax: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
          types: [],
          lib: ["es2023", "dom"],
        },
        files: ["consumer.ts"],
      }),
    );
    await writeFile(join(consumer, "package.json"), JSON.stringify({ type: "module" }));
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", consumer]).catch((error: { stdout: string }) => error);
    expect("stdout" in result ? result.stdout : "").toBe("");
  });

  it("runs the outbox entry from ESM and CJS: fail-closed emit, replay, one OutboxLockedError across entries", async () => {
    const body = (importLines: string) => `${importLines}
      const down = { name: "down", append: async () => { throw new Error("store down"); },
        get: async () => null, list: async () => [], close: async () => {} };
      const path = "outbox-" + Math.random().toString(36).slice(2) + "/events.jsonl";
      const bus = new EventBus({ storage: down, outbox: fileOutbox({ path }) });
      const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
      let locked = "";
      try { fileOutbox({ path }); } catch (error) { locked = error instanceof OutboxLockedError && error instanceof Core.OutboxLockedError ? error.code : "wrong class"; }
      const pending = bus.outboxStatus().pending;
      await bus.close();
      const store = new EventBus();
      const replaying = new EventBus({ storage: store.storage, outbox: fileOutbox({ path }) });
      while (existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 5));
      const replayed = (await store.getEvent(event.event_id))?.deal_id;
      await replaying.close();
      console.log(JSON.stringify({ pending, locked, replayed }));`;
    const expected = { pending: 1, locked: "ERR_OUTBOX_LOCKED", replayed: "d-1" };
    const esm = await runScript(
      "outbox.mjs",
      body(`import { existsSync } from "node:fs";
        import * as Core from "ad-seller-events";
        import { EventBus } from "ad-seller-events";
        import { fileOutbox, OutboxLockedError } from "ad-seller-events/outbox";`),
    );
    expect(JSON.parse(esm)).toEqual(expected);
    const cjs = await runScript(
      "outbox.cjs",
      `(async () => { ${body(`const { existsSync } = require("node:fs");
        const Core = require("ad-seller-events");
        const { EventBus } = Core;
        const { fileOutbox, OutboxLockedError } = require("ad-seller-events/outbox");`)} })();`,
    );
    expect(JSON.parse(cjs)).toEqual(expected);
  });

  // Last, because it installs the drivers next to the package: every test above runs without them.
  it("runs each storage adapter from the tarball against real stores, from ESM", async () => {
    for (const driver of ["pg", "ioredis", "better-sqlite3"]) {
      await symlink(join(root, "node_modules", driver), join(consumer, "node_modules", driver), "dir");
    }
    const services = {
      postgres: await serviceAvailable("PostgreSQL", PG_URL),
      redis: await serviceAvailable("Redis", REDIS_URL),
    };
    const output = await runScript(
      "adapters.mjs",
      `import { EventBus } from "ad-seller-events";
       import { sqliteStorage } from "ad-seller-events/sqlite";
       import { postgresStorage } from "ad-seller-events/postgres";
       import { redisStorage } from "ad-seller-events/redis";
       const suffix = Math.random().toString(36).slice(2, 10);
       async function roundTrip(storage) {
         const bus = new EventBus({ storage });
         const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-" + suffix, payload: { cpm: 12.5 } });
         const listed = await bus.listEvents({ deal_id: "d-" + suffix });
         const same = JSON.stringify(await bus.getEvent(event.event_id)) === JSON.stringify(event);
         await bus.close();
         return listed.length === 1 && same;
       }
       async function openSqlite(file) {
         try { const { DatabaseSync } = await import("node:sqlite"); return new DatabaseSync(file); }
         catch { const { default: Database } = await import("better-sqlite3"); return new Database(file); }
       }
       const result = {};
       const database = await openSqlite("events-" + suffix + ".sqlite");
       result.sqlite = await roundTrip(sqliteStorage({ database, closeDatabase: true }));
       if (${services.postgres}) {
         const { default: pg } = await import("pg");
         const pool = new pg.Pool({ connectionString: ${JSON.stringify(PG_URL)} });
         const table = "package_test_" + suffix;
         result.postgres = await roundTrip(postgresStorage({ pool, table }));
         await pool.query("DROP TABLE public." + table);
         await pool.end();
       }
       if (${services.redis}) {
         const { Redis } = await import("ioredis");
         const client = new Redis(${JSON.stringify(REDIS_URL)});
         const prefix = "package-test:" + suffix + ":";
         result.redis = await roundTrip(redisStorage({ client, prefix }));
         let cursor = "0";
         do {
           const [next, keys] = await client.scan(cursor, "MATCH", prefix + "*");
           cursor = next;
           if (keys.length > 0) await client.del(...keys);
         } while (cursor !== "0");
         client.disconnect();
       }
       console.log(JSON.stringify(result));`,
    );
    expect(JSON.parse(output)).toEqual({
      sqlite: true,
      ...(services.postgres ? { postgres: true } : {}),
      ...(services.redis ? { redis: true } : {}),
    });
  }, 60_000);
});
