import type { Cluster, Redis } from "ioredis";
import { EventValidationError, StorageError } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import { showValue } from "../../event/json-value.js";
import { resolvePruneOptions } from "../kit/prune-options.js";
import { withDigests } from "../kit/prune-records.js";
import { closedError, storageFailure } from "../kit/store-errors.js";
import { isWireText } from "../kit/stored-event.js";
import type { EventStorage } from "../types.js";
import { appendBatch, defineAppend } from "./redis-append.js";
import { redisCheckpoints } from "./redis-checkpoints.js";
import { guardConnection } from "./redis-connection.js";
import { redisDigests } from "./redis-digests.js";
import { listEventJson, listEvents } from "./redis-list.js";
import { pruneEvents } from "./redis-prune.js";
import { defineRange } from "./redis-range.js";
import { parseEventRecord } from "./redis-record.js";
import { DEFAULT_REDIS_PREFIX, redisKeyLayout } from "./redis-schema.js";
import { RedisWatch } from "./redis-watch.js";
import { redisWebhooks } from "./redis-webhooks.js";

/**
 * Default bound on each round trip to Redis, in milliseconds.
 *
 * @example
 * ```ts
 * redisStorage({ client, timeoutMs: DEFAULT_REDIS_TIMEOUT_MS * 2 });
 * ```
 */
export const DEFAULT_REDIS_TIMEOUT_MS = 5000;

/**
 * Options of {@link redisStorage}.
 *
 * @example
 * ```ts
 * const options: RedisStorageOptions = { client: new Redis({ maxRetriesPerRequest: 0 }), prefix: "{ad_seller}:" };
 * ```
 */
export interface RedisStorageOptions {
  /**
   * Your ioredis client: a `Redis` or a `Cluster` (then `prefix` must hold a hash tag). It stays yours: the store
   * never closes it unless `closeClient` is true. The store registers two Lua scripts on it (`defineCommand`, names
   * starting with `adSellerEvents`). Recommended: `maxRetriesPerRequest: 0`, so that a command in flight when the
   * connection drops is rejected instead of being re-sent after ioredis reconnects (see docs/storage/redis.md).
   */
  readonly client: Redis | Cluster;
  /**
   * Prefix of every key. Default `"ad_seller:"`, the Python seller agent's convention, so both read the same
   * records. For Redis Cluster wrap it in a hash tag, e.g. `"{ad_seller}:"`, so that all keys share one slot.
   */
  readonly prefix?: string | undefined;
  /** Quit the client in `close()`. Default `false`: the caller owns it. */
  readonly closeClient?: boolean | undefined;
  /**
   * Bound on each round trip, including waiting for a connection that is being (re)established; past it the call
   * rejects with `StorageError`. While the client is known to be disconnected, calls reject at once instead.
   * Default 5000.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * `PUBLISH` to `{prefix}appended` from inside the append script (coalesced to about one script a millisecond, with
   * no round trip of its own), so that tails in other processes wake at once. Without it they still see every event,
   * on their safety poll. Default: `true`.
   */
  readonly notify?: boolean | undefined;
}

/**
 * A store in Redis, shared by every process that uses the same server and prefix. Each append runs as one Lua
 * script: it numbers the events from one counter (`INCRBY`), stores each record with `SET` semantics of `NX`
 * (an id already taken is reported, never overwritten) and adds it to the log and to one sorted set per filter
 * value, all atomically. Records are the event's JSON under `{prefix}event:{event_id}`, readable by the Python
 * seller agent.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { EventBus } from "ad-seller-events";
 * import { redisStorage } from "ad-seller-events/redis";
 *
 * const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 0 });
 * const bus = new EventBus({ storage: redisStorage({ client: redis }) });
 * ```
 */
export function redisStorage(given: RedisStorageOptions): EventStorage {
  const options = checkOptions(given);
  const { client, closeClient = false, timeoutMs = DEFAULT_REDIS_TIMEOUT_MS } = options;
  const keys = redisKeyLayout(options.prefix ?? DEFAULT_REDIS_PREFIX);
  const where = describeServer(client);
  const scripts = defineRange(client, keys.event(""));
  const guard = guardConnection(client, timeoutMs);
  const appending = { keys, script: defineAppend(client), guard };
  const watcher = new RedisWatch(client, `${keys.prefix}appended`, options.notify !== false);
  let closed = false;

  async function call<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      if (closed) throw closedError(`the redis storage at key prefix ${JSON.stringify(keys.prefix)}`);
      return await body();
    } catch (error) {
      const failure = storageFailure("redis", operation, error);
      if (failure instanceof StorageError)
        failure.message += ` (Redis at ${where}, key prefix ${JSON.stringify(keys.prefix)})`;
      throw failure;
    }
  }

  const run = <T>(operation: string, work: () => Promise<T>) => call(operation, () => guard.run(work));
  return withDigests(redisDigests(client, keys.prefix, run), {
    name: "redis",
    append: (events) => {
      if (events.length === 0) return call("append", async () => []);
      const ticket = watcher.ticket();
      return call("append", () => appendBatch(events, appending, ticket.channel)).then(
        (outcomes) => {
          watcher.appended(ticket, outcomes.includes(null));
          return outcomes;
        },
        (error: unknown) => {
          watcher.failed(ticket);
          throw error;
        },
      );
    },
    watch: (onAppend) => watcher.watch(onAppend),
    get: (eventId) =>
      call("get", async () => {
        const key = keys.event(eventId);
        const text = await guard.run(() => client.get(key));
        return text === null ? null : parseEventRecord(text, key);
      }),
    list: (query) => call("list", () => listEvents(query, { client, keys, scripts, guard })),
    checkpoints: redisCheckpoints(client, keys.prefix, (operation, work) => call(operation, () => guard.run(work))),
    webhooks: redisWebhooks(client, keys.prefix, (operation, work) => call(operation, () => guard.run(work))),
    listJson: (query) => call("list", () => listEventJson(query, { client, keys, scripts, guard })),
    getJson: (eventId) =>
      call("get", async () => {
        const key = keys.event(eventId);
        const text = await guard.run(() => client.get(key));
        if (text === null) return null;
        // The bus's own records go out as stored; any other record is read and serialised as `get` returns it.
        return isWireText(text) ? text : JSON.stringify(parseEventRecord(text, key));
      }),
    prune: async (options) => {
      const settings = resolvePruneOptions(options);
      return call("prune", () => pruneEvents(client, keys, guard, settings));
    },
    async close() {
      if (closed) return;
      closed = true;
      await watcher.close();
      guard.detach();
      if (closeClient && client.status !== "end") await quitClient(client);
    },
  });
}

const REDIS_OPTION_KEYS: OptionKeys<RedisStorageOptions> = {
  client: true,
  prefix: true,
  closeClient: true,
  timeoutMs: true,
  notify: true,
};

function checkOptions(given: RedisStorageOptions): RedisStorageOptions {
  const options = readOptions(given, REDIS_OPTION_KEYS, "redisStorage");
  const client = (options as Partial<RedisStorageOptions>).client;
  if (typeof client?.defineCommand !== "function" || typeof client.status !== "string") {
    throw EventValidationError.forField("client", "must be an ioredis client, e.g. new Redis(process.env.REDIS_URL)");
  }
  if (options.prefix !== undefined && typeof options.prefix !== "string") {
    throw EventValidationError.forField("prefix", `must be a string, got ${typeof options.prefix}`);
  }
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 1)) {
    throw EventValidationError.forField("timeoutMs", `must be a positive integer, got ${showValue(timeoutMs)}`);
  }
  return options;
}

/** Quits gracefully (pending replies first), resolving once the connection has ended. */
async function quitClient(client: Redis | Cluster): Promise<void> {
  // QUIT on a client that is not connected would first connect, or wait in the offline queue: just drop it.
  if (client.status !== "ready") return client.disconnect();
  const ended = new Promise((resolve) => client.once("end", resolve));
  await client.quit().catch(() => client.disconnect());
  if ((client.status as string) !== "end") await ended;
}

/** Host and port (or socket path) for messages; never the credentials. */
function describeServer(client: Redis | Cluster): string {
  if (client.isCluster) return "a cluster";
  const { host, port, path, db } = (client as Redis).options;
  const address = path ?? `${host ?? "localhost"}:${port ?? 6379}`;
  return db ? `${address} db ${db}` : address;
}
