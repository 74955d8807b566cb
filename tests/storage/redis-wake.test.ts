import { describe, expect, it } from "vitest";
import { redisStorage } from "../../src/storage/redis/index.js";
import { redisTestClients, uniquePrefix } from "../fixtures/redis-store.js";
import { REDIS_URL, serviceAvailable } from "../support/services.js";
import { buildEvent } from "../support/sqlite.js";

const available = await serviceAvailable("Redis", REDIS_URL);
const { newClient, track } = redisTestClients(available);

/** A writer store whose standalone `PUBLISH` calls are counted, and the messages its channel carries. */
async function openWatched() {
  const prefix = uniquePrefix("wake");
  track(prefix);
  const writer = newClient();
  let standalone = 0;
  const publish = writer.publish.bind(writer);
  writer.publish = ((...args: Parameters<typeof publish>) => {
    standalone++;
    return publish(...args);
  }) as typeof writer.publish;
  const subscriber = newClient();
  let messages = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  subscriber.on("message", () => {
    messages++;
    for (const waiter of waiting.filter((entry) => entry.count <= messages)) waiter.resolve();
  });
  await subscriber.subscribe(`${prefix}appended`);
  return {
    storage: redisStorage({ client: writer, prefix }),
    standalone: () => standalone,
    /** Resolves once `count` messages have arrived in all; never, if they do not (the test's timeout fails it). */
    messages: (count: number) =>
      new Promise<void>((resolve) => {
        if (messages >= count) resolve();
        else waiting.push({ count, resolve });
      }),
  };
}

const event = () => buildEvent({ deal_id: "d-1" });

describe.skipIf(!available)("redis wake-ups", () => {
  it("publishes an append's wake-up from inside its script, with no PUBLISH command of its own", async () => {
    const watched = await openWatched();
    await watched.storage.append([event()]);
    await watched.messages(1);
    expect(watched.standalone()).toBe(0);
    await watched.storage.close();
  });

  it("follows an append that no script's wake-up covers with one more (no lost wake-up)", async () => {
    const watched = await openWatched();
    // Sent together, within the gap: the first script publishes, the second does not, and runs after it, so the
    // first one's message may come before the second event is stored. A wake-up is owed after the second: a second
    // message must come (a plain PUBLISH after the gap; on a machine so loaded that the two sends are a millisecond
    // apart, the second script publishes itself). Without the owed wake-up only one message ever comes.
    await Promise.all([watched.storage.append([event()]), watched.storage.append([event()])]);
    await watched.messages(2);
    await watched.storage.close();
  });
});
