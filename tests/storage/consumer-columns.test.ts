// A consumers table created before retention held back for consumers (no `query`, no `last_seen`) gains both
// columns on first use, keeps its rows, and records them from the next lease on (PostgreSQL and SQLite).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointStore } from "../../src/storage/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";
import { loadAnySqlite } from "../support/sqlite.js";

const pgAvailable = await serviceAvailable("PostgreSQL", PG_URL);
const openSqlite = await loadAnySqlite();
const folder = mkdtempSync(join(tmpdir(), "consumer-columns-"));

/** Takes a lease with a query on a store whose consumers table holds one row of the old shape, named "old". */
async function upgraded(checkpoints: CheckpointStore): Promise<void> {
  const lease = await checkpoints.acquireLease("new", "owner", 60_000, { event_types: ["deal.created"] });
  expect(lease?.name).toBe("new");
  const consumers = (await checkpoints.listConsumers?.()) ?? [];
  expect(consumers.map(({ name, position, query }) => ({ name, position, query }))).toEqual([
    { name: "new", position: null, query: { event_types: ["deal.created"] } },
    { name: "old", position: "0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e", query: null },
  ]);
  expect(consumers[0]?.last_seen).toMatch(/^\d{4}-\d\d-\d\dT/);
  // Never seen since the upgrade: it holds nothing until its next lease.
  expect(consumers[1]?.last_seen).toBeNull();
}

describe("consumers tables of an earlier version", () => {
  const tables: string[] = [];
  afterAll(async () => {
    rmSync(folder, { recursive: true, force: true });
    if (pgAvailable) await dropTestObjects(PG_URL, { tables });
  });

  it("sqlite: adds query and last_seen on first use", async () => {
    const database = openSqlite(join(folder, "old.sqlite"));
    database.exec(
      'CREATE TABLE "events_consumers" (name TEXT PRIMARY KEY, position TEXT, owner TEXT, ' +
        "generation INTEGER NOT NULL DEFAULT 0, lease_expires_at INTEGER NOT NULL DEFAULT 0);" +
        `INSERT INTO "events_consumers" (name, position) VALUES ('old', '0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e');`,
    );
    const storage = sqliteStorage({ database, table: "events", closeDatabase: true });
    await upgraded(storage.checkpoints as CheckpointStore);
    await storage.close();
  });

  it.runIf(pgAvailable)("postgres: adds query and last_seen on first use", async () => {
    const table = uniqueName("upgrade");
    tables.push(table);
    const pool = createPool(PG_URL);
    await pool.query(
      `CREATE TABLE public."${table}_consumers" (name text PRIMARY KEY, position text, owner text, ` +
        "generation bigint NOT NULL DEFAULT 0, lease_expires_at timestamptz NOT NULL DEFAULT '-infinity'); " +
        `CREATE TABLE public."${table}_dead_letters" (name text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, ` +
        "event_id text NOT NULL, error text NOT NULL, failed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, seq)); " +
        `INSERT INTO public."${table}_consumers" (name, position) VALUES ('old', '0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e');`,
    );
    const storage = postgresStorage({ pool, table });
    await upgraded(storage.checkpoints as CheckpointStore);
    await storage.close();
    await pool.end();
  });
});
