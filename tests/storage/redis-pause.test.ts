// Reads during `CLIENT PAUSE ... WRITE` (what a Redis failover does): listEvents and getEvent must answer while the
// pause holds writes back, and an append must wait for the pause. Pausing and SCRIPT FLUSH act on a whole server, so
// this file runs a redis-server of its own: the shared one keeps serving the other test files undisturbed.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { EventBus } from "../../src/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { uniquePrefix } from "../fixtures/redis-store.js";
import { startPrivateRedis } from "../support/private-redis.js";

const server = await startPrivateRedis();

describe.skipIf(server === undefined)("redisStorage during CLIENT PAUSE WRITE", () => {
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  function newClient(): Redis {
    const client = new Redis(server?.url ?? "", { maxRetriesPerRequest: 0 });
    client.on("error", () => {}); // the private server stops at the end; a late reconnect attempt is expected
    clients.push(client);
    return client;
  }

  /** True while Redis holds back the connection's current command (flag `b` in CLIENT LIST). */
  async function isHeldBack(admin: Redis, clientId: number): Promise<boolean> {
    const line = (await admin.client("LIST", "ID", String(clientId))) as string;
    return /flags=\S*b/.test(line);
  }

  /**
   * Pauses writes, starts an append on its own connection, waits until Redis holds it back, then runs `read` on
   * another connection. The read must answer while the append is still held back and its record still absent.
   */
  async function readDuringPause(flushScripts: boolean): Promise<void> {
    const prefix = uniquePrefix("pause");
    const [writerClient, readerClient, admin] = [newClient(), newClient(), newClient()];
    const writer = new EventBus({ storage: redisStorage({ client: writerClient, prefix }) });
    const reader = new EventBus({ storage: redisStorage({ client: readerClient, prefix }) });
    const stored = await writer.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    // The scripts are registered by a first call on each connection, before the pause.
    expect(await reader.listEvents({ deal_id: "d-1" })).toEqual([stored]);
    if (flushScripts) await admin.script("FLUSH");
    const writerId = Number(await writerClient.client("ID"));
    const event_id = randomUUID();
    await admin.client("PAUSE", "1000", "WRITE");
    const append = writer.emitEvent({ event_id, event_type: "deal.synced", deal_id: "d-1" });
    while (!(await isHeldBack(admin, writerId))) await new Promise((resolve) => setTimeout(resolve, 5));
    const [listed, filtered, got] = await Promise.all([
      reader.listEvents(),
      reader.listEvents({ deal_id: "d-1", event_type: ["deal.created", "deal.synced"] }),
      reader.getEvent(stored.event_id),
    ]);
    // Answered during the pause: the append is still held back and nothing of it is stored yet.
    expect(await isHeldBack(admin, writerId)).toBe(true);
    expect(await admin.exists(`${prefix}event:${event_id}`)).toBe(0);
    expect(listed).toEqual([stored]);
    expect(filtered).toEqual([stored]);
    expect(got).toEqual(stored);
    // The append waited for the pause and then went through.
    const appended = await append;
    expect(appended.event_id).toBe(event_id);
    expect(await reader.listEvents({ deal_id: "d-1" })).toEqual([stored, appended]);
  }

  it("answers listEvents and getEvent while writes are paused; an append waits for the pause", async () => {
    await readDuringPause(false);
  });

  it("answers the first reads of a cold bus (a new connection, nothing run on it yet) during the pause", async () => {
    const prefix = uniquePrefix("cold");
    const [writerClient, admin] = [newClient(), newClient()];
    const writer = new EventBus({ storage: redisStorage({ client: writerClient, prefix }) });
    const stored = await writer.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    const writerId = Number(await writerClient.client("ID"));
    const event_id = randomUUID();
    await admin.script("FLUSH"); // a failover's new primary does not know the scripts either
    // Long enough that a read waiting for the pause would outlive the test's timeout.
    await admin.client("PAUSE", "60000", "WRITE");
    try {
      const append = writer.emitEvent({ event_id, event_type: "deal.synced", deal_id: "d-1" });
      while (!(await isHeldBack(admin, writerId))) await new Promise((resolve) => setTimeout(resolve, 5));
      const cold = new EventBus({ storage: redisStorage({ client: newClient(), prefix }) });
      const [listed, filtered, got] = await Promise.all([
        cold.listEvents(),
        cold.listEvents({ deal_id: "d-1", event_type: ["deal.created", "deal.synced"] }),
        cold.getEvent(stored.event_id),
      ]);
      expect(await isHeldBack(admin, writerId)).toBe(true);
      expect([listed, filtered, got]).toEqual([[stored], [stored], stored]);
      await admin.client("UNPAUSE");
      expect((await append).event_id).toBe(event_id);
    } finally {
      await admin.client("UNPAUSE");
    }
  }, 20_000);

  it("answers listEvents during the pause even when Redis has just lost its scripts (failover)", async () => {
    await readDuringPause(true);
  });
});
