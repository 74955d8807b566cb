// A PostgreSQL checkpoint write commits without waiting for the WAL flush (synchronous_commit off for its own
// transaction only); lease statements and the session keep the server's setting. A deferred constraint trigger runs
// at commit time, so it sees the setting the commit itself uses.
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointStore, ConsumerLease } from "../../src/storage/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { createPool, dropTestObjects, uniqueName } from "../fixtures/postgres-tables.js";
import { PG_URL, serviceAvailable } from "../support/services.js";

const available = await serviceAvailable("PostgreSQL", PG_URL);
const table = uniqueName("checkpoint_commit");
const probe = `${table}_probe`;

afterAll(async () => {
  if (!available) return;
  await dropTestObjects(PG_URL, { tables: [table, probe] });
  const pool = createPool(PG_URL, { max: 1 });
  await pool.query(`DROP FUNCTION IF EXISTS public."${probe}"()`);
  await pool.end();
});

describe.skipIf(!available)("postgres checkpoint commits", () => {
  it("commits a checkpoint with synchronous_commit off, and leases and the session with the server's setting", async () => {
    // One connection: a setting leaking out of the checkpoint's transaction would show in the session afterwards.
    const pool = createPool(PG_URL, { max: 1 });
    const storage = postgresStorage({ pool, table });
    const checkpoints = storage.checkpoints as CheckpointStore;
    const lease = (await checkpoints.acquireLease("export", "instance-1", 60_000)) as ConsumerLease;
    await pool.query(`CREATE TABLE public."${probe}" (seq serial, setting text)`);
    await pool.query(
      `CREATE FUNCTION public."${probe}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         INSERT INTO public."${probe}" (setting) VALUES (current_setting('synchronous_commit')); RETURN NULL;
       END $$`,
    );
    await pool.query(
      `CREATE CONSTRAINT TRIGGER commit_probe AFTER UPDATE ON public."${table}_consumers"
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public."${probe}"()`,
    );
    const seen = async () =>
      (await pool.query<{ setting: string }>(`SELECT setting FROM public."${probe}" ORDER BY seq`)).rows.map(
        (row) => row.setting,
      );
    const session = async () =>
      (await pool.query<{ value: string }>("SELECT current_setting('synchronous_commit') AS value")).rows[0]?.value;
    const serverSetting = await session();
    expect(serverSetting).not.toBe("off");

    expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: "e-1" })).toBe(true);
    expect(await seen()).toEqual(["off"]);
    expect(await session()).toBe(serverSetting);
    expect(await checkpoints.renewLease(lease, 60_000)).toBe(true);
    expect(
      await checkpoints.writeCheckpoint(lease, {
        expected: "e-1",
        position: "e-2",
        deadLetters: [{ event_id: "e-2", error: "bad" }],
      }),
    ).toBe(true);
    await checkpoints.releaseLease(lease);
    expect(await seen()).toEqual(["off", serverSetting, "off", serverSetting]);
    expect(await session()).toBe(serverSetting);
    expect(await checkpoints.readCheckpoint("export")).toBe("e-2");
    expect(await checkpoints.deadLetters("export")).toMatchObject([{ event_id: "e-2", error: "bad" }]);
    await storage.close();
    await pool.end();
  });
});
