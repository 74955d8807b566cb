// A SQLite checkpoint write commits without waiting for a disk flush (WAL, synchronous NORMAL for that transaction
// only); leases and the connection's other writes keep its own level.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointStore, ConsumerLease } from "../../src/storage/index.js";
import { type SqliteDatabase, sqliteStorage } from "../../src/storage/sqlite/index.js";
import { loadAnySqlite } from "../support/sqlite.js";

// Either driver: better-sqlite3 where its addon loads (Node 20), else node:sqlite (Node 24).
const openDatabase = await loadAnySqlite();

const directory = mkdtempSync(join(tmpdir(), "ad-seller-events-checkpoint-commit-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const LEVELS = ["off", "normal", "full", "extra"] as const;

type Level = (typeof LEVELS)[number];

/**
 * A connection that notes the `synchronous` level in force at each `COMMIT` it runs, and at each lease `UPDATE`
 * (renewal and release run in autocommit: the statement is its own commit).
 */
function recordingCommits(file: string) {
  const database = openDatabase(file);
  const levelNow = () => {
    const row = database.prepare("PRAGMA synchronous").get() as { synchronous: number | bigint };
    return LEVELS[Number(row.synchronous)] as Level;
  };
  const commits: Level[] = [];
  const leaseWrites: Level[] = [];
  const recording = new Proxy(database, {
    get(target, key) {
      if (key === "exec")
        return (sql: string) => {
          if (sql === "COMMIT") commits.push(levelNow());
          return target.exec(sql);
        };
      if (key === "prepare")
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (!(sql.startsWith("UPDATE") && sql.includes("SET lease_expires_at"))) return statement;
          const run = statement.run.bind(statement);
          return Object.assign(statement, {
            run: (...params: unknown[]) => {
              leaseWrites.push(levelNow());
              return run(...params);
            },
          });
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { database: recording as unknown as SqliteDatabase, commits, leaseWrites, levelNow };
}

async function leaseOn(checkpoints: CheckpointStore): Promise<ConsumerLease> {
  const lease = await checkpoints.acquireLease("export", "instance-1", 60_000);
  if (lease === null) throw new Error("no lease");
  return lease;
}

let files = 0;
const nextFile = () => join(directory, `events-${++files}.sqlite`);

describe("sqlite checkpoint commits", () => {
  it("writes a checkpoint under synchronous NORMAL and puts the connection's level back; the lease keeps FULL", async () => {
    const { database, commits, levelNow } = recordingCommits(nextFile());
    const storage = sqliteStorage({ database, closeDatabase: true });
    const checkpoints = storage.checkpoints as CheckpointStore;
    const lease = await leaseOn(checkpoints);
    const afterLease = commits.length;
    expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: "e-1" })).toBe(true);
    expect(
      await checkpoints.writeCheckpoint(lease, {
        expected: "e-1",
        position: "e-2",
        deadLetters: [{ event_id: "e-2", error: "bad" }],
      }),
    ).toBe(true);
    expect(commits.slice(0, afterLease).every((level) => level === "full")).toBe(true);
    expect(commits.slice(afterLease)).toEqual(["normal", "normal"]);
    expect(levelNow()).toBe("full");
    // A refused write (stale expected position) also leaves the connection as it was.
    expect(await checkpoints.writeCheckpoint(lease, { expected: "e-1", position: "e-3" })).toBe(false);
    expect(levelNow()).toBe("full");
    expect(await checkpoints.readCheckpoint("export")).toBe("e-2");
    expect(await checkpoints.deadLetters("export")).toMatchObject([{ event_id: "e-2", error: "bad" }]);
    await storage.close();
  });

  it("renews and releases a lease at the connection's level: the release at stop() syncs the last checkpoint", async () => {
    const { database, leaseWrites } = recordingCommits(nextFile());
    const storage = sqliteStorage({ database, closeDatabase: true });
    const checkpoints = storage.checkpoints as CheckpointStore;
    const lease = await leaseOn(checkpoints);
    expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: "e-1" })).toBe(true);
    expect(await checkpoints.renewLease(lease, 60_000)).toBe(true);
    await checkpoints.releaseLease(lease);
    expect(leaseWrites).toEqual(["full", "full"]);
    await storage.close();
  });

  it("puts back a level other than FULL (EXTRA) after the checkpoint transaction", async () => {
    const { database, commits, levelNow } = recordingCommits(nextFile());
    const storage = sqliteStorage({ database, closeDatabase: true });
    const checkpoints = storage.checkpoints as CheckpointStore;
    const lease = await leaseOn(checkpoints);
    database.exec("PRAGMA synchronous = EXTRA");
    commits.length = 0;
    expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: "e-1" })).toBe(true);
    expect(commits).toEqual(["normal"]);
    expect(levelNow()).toBe("extra");
    await storage.close();
  });

  it("keeps the connection's level outside WAL mode, where NORMAL could corrupt the file on a power cut", async () => {
    const { database, commits, levelNow } = recordingCommits(nextFile());
    const storage = sqliteStorage({ database, closeDatabase: true, wal: false });
    const checkpoints = storage.checkpoints as CheckpointStore;
    const lease = await leaseOn(checkpoints);
    commits.length = 0;
    expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: "e-1" })).toBe(true);
    expect(commits).toEqual(["full"]);
    expect(levelNow()).toBe("full");
    await storage.close();
  });
});
