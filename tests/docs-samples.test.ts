// Docs that cannot rot: every ```ts block of README.md and docs/**/*.md is compiled (strict, one tsc run for all,
// against the package's public entry names mapped to src/), and every block not fenced ```ts compile-only runs as
// an ES module in a fresh empty working folder, with PostgreSQL and Redis at PG_URL / REDIS_URL.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { collectSamples, type DocSample } from "./support/doc-samples.js";
import { PG_URL, REDIS_URL, serviceAvailable } from "./support/services.js";
import { betterSqlite3Loads } from "./support/sqlite.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
// Inside the repository, so that samples resolve pg, ioredis, express... from its node_modules.
const scratch = join(root, ".scratch", "docs-samples");
const samples = await collectSamples(root);
const SAMPLE_TIMEOUT_MS = 30_000;
// By URL: `--import tsx` would be resolved from the sample's empty working folder.
const TSX_LOADER = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href;

const ENTRY_PATHS = {
  "ad-seller-events": ["../../src/index.ts"],
  "ad-seller-events/http": ["../../src/http/index.ts"],
  "ad-seller-events/sqlite": ["../../src/storage/sqlite/index.ts"],
  "ad-seller-events/postgres": ["../../src/storage/postgres/index.ts"],
  "ad-seller-events/redis": ["../../src/storage/redis/index.ts"],
  "ad-seller-events/testing": ["../../src/testing/index.ts"],
  "ad-seller-events/outbox": ["../../src/outbox/index.ts"],
  "ad-seller-events/interop": ["../../src/interop/index.ts"],
  "ad-seller-events/nats": ["../../src/interop/nats/index.ts"],
  "ad-seller-events/amqp": ["../../src/interop/amqp/index.ts"],
  "ad-seller-events/otel": ["../../src/interop/otel/index.ts"],
  "ad-seller-events/webhooks": ["../../src/webhooks/index.ts"],
  "ad-seller-events/audit": ["../../src/audit/index.ts"],
  "ad-seller-events/storage": ["../../src/storage/index.ts"],
};

const NODE_SQLITE_TYPES = `declare module "node:sqlite" {
  export class DatabaseSync {
    constructor(path: string);
    exec(sql: string): void;
    prepare(sql: string): {
      run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
      get(...parameters: unknown[]): unknown;
      all(...parameters: unknown[]): unknown[];
    };
    close(): void;
  }
}
`;

/** Generated file name of a sample: `README.md#3` -> `README.md-3.ts`. */
const fileOf = (sample: DocSample) => `${sample.name.replaceAll(/[/#]/g, "-")}.ts`;
/** Lines added before the sample's code in its generated file. */
const HEADER_LINES = 1;

let diagnostics = new Map<string, string[]>();
const services = { postgres: false, redis: false };

beforeAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  await writeFile(join(scratch, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(scratch, "tsconfig.json"), JSON.stringify(tsconfig(), null, 2));
  if (!existsSync(join(root, "node_modules", "@types", "node", "sqlite.d.ts"))) {
    // @types/node 20 predates node:sqlite (Node >= 22.13): declare the part the samples use.
    await writeFile(join(scratch, "node-sqlite.d.ts"), NODE_SQLITE_TYPES);
  }
  for (const sample of samples) {
    // `export {}` makes every sample a module, so top-level await and its own names are allowed.
    await writeFile(
      join(scratch, fileOf(sample)),
      `export {}; // ${sample.name}, line ${sample.line}\n${sample.code}\n`,
    );
  }
  diagnostics = await compileAll();
  services.postgres = await serviceAvailable("PostgreSQL", PG_URL);
  services.redis = await serviceAvailable("Redis", REDIS_URL);
}, 240_000);

describe("the TypeScript samples of README.md and docs/", () => {
  it("finds the samples of every page (new pages are picked up by themselves)", () => {
    expect(samples.length).toBeGreaterThan(20);
    expect(new Set(samples.map((sample) => sample.file))).toContain("README.md");
  });

  it("leaves no compile error outside the samples (the sources they import, under the samples' settings)", () => {
    const samplesFiles = new Set(samples.map(fileOf));
    expect([...diagnostics].filter(([file]) => !samplesFiles.has(file)).flatMap(([, list]) => list)).toEqual([]);
  });

  it.each(samples.map((sample) => [sample.name, sample] as const))("%s compiles strictly", (_, sample) => {
    expect(diagnostics.get(fileOf(sample)) ?? [], `${sample.file}:${sample.line}`).toEqual([]);
  });

  const runnable = samples.filter((sample) => !sample.compileOnly);
  for (const sample of runnable) {
    it(
      `${sample.name} runs to its end in a fresh folder`,
      async (context) => {
        const needs = {
          postgres: /postgres|pg\.Pool/i.test(sample.code),
          redis: /ioredis|REDIS_URL/.test(sample.code),
        };
        if ((needs.postgres && !services.postgres) || (needs.redis && !services.redis)) context.skip();
        if (sample.code.includes('"better-sqlite3"') && !betterSqlite3Loads()) {
          console.warn(
            `SKIPPING ${sample.name}: better-sqlite3's addon is built for Node 20 (this is ${process.version})`,
          );
          context.skip();
        }
        if (sample.code.includes('"node:sqlite"') && !isBuiltin("node:sqlite")) {
          console.warn(`SKIPPING ${sample.name}: node:sqlite needs Node >= 22.13 (this is ${process.version})`);
          context.skip();
        }
        const folder = await mkdtemp(join(tmpdir(), "doc-sample-"));
        try {
          const result = await run(process.execPath, ["--import", TSX_LOADER, join(scratch, fileOf(sample))], {
            cwd: folder,
            timeout: SAMPLE_TIMEOUT_MS,
            env: { ...process.env, PG_URL, REDIS_URL, TSX_TSCONFIG_PATH: join(scratch, "tsconfig.json") },
          }).catch((error: Error & { stderr?: string; killed?: boolean }) => error);
          if (result instanceof Error) {
            const reason = result.killed
              ? `did not end within ${SAMPLE_TIMEOUT_MS} ms; close what it opens, or fence it \`\`\`ts compile-only`
              : (result.stderr ?? result.message);
            expect.fail(`${sample.file}:${sample.line} failed: ${reason}`);
          }
        } finally {
          await rm(folder, { recursive: true, force: true });
        }
      },
      SAMPLE_TIMEOUT_MS + 10_000,
    );
  }
});

function tsconfig() {
  return {
    compilerOptions: {
      target: "ES2022",
      lib: ["ES2024", "DOM"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      isolatedModules: true,
      noImplicitOverride: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")],
      paths: ENTRY_PATHS,
    },
    include: ["*.ts"],
  };
}

/** One tsc run over every sample; its diagnostics grouped by generated file, lines mapped back to the Markdown. */
async function compileAll(): Promise<Map<string, string[]>> {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const output = await run(process.execPath, [tsc, "-p", scratch, "--pretty", "false"], { cwd: scratch }).then(
    (result) => result.stdout,
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  const byFile = new Map<string, string[]>();
  const byName = new Map(samples.map((sample) => [fileOf(sample), sample]));
  for (const line of output.split("\n")) {
    const match = /^(.+?\.ts)\((\d+),(\d+)\): (.*)$/.exec(line.trim());
    if (!match) continue;
    const [, path = "", lineNumber = "0", , message = ""] = match;
    const sample = byName.get(path);
    const file = sample ? path : path;
    const where = sample ? `${sample.file}:${sample.line + Number(lineNumber) - HEADER_LINES}` : path;
    const list = byFile.get(file) ?? [];
    list.push(`${where}: ${message}`);
    byFile.set(file, list);
  }
  return byFile;
}
