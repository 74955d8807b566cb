import type { Cluster, Redis } from "ioredis";
import type { WebhookLogQuery, WebhookLogRecord, WebhookStore } from "../types.js";

/** Entries read per round trip while filtering a log. */
const LOG_PAGE = 200;

/**
 * Webhook subscriptions and their delivery logs in Redis, beside the events under the same prefix: a hash
 * `{prefix}webhooks` (id to JSON) and one list per subscription, `{prefix}webhook-log:{id}`, newest entry first,
 * trimmed to `keep` entries in the same transaction as each push.
 */
export function redisWebhooks(
  client: Redis | Cluster,
  prefix: string,
  run: <T>(operation: string, work: () => Promise<T>) => Promise<T>,
): WebhookStore {
  const subscriptions = `${prefix}webhooks`;
  const logOf = (id: string) => `${prefix}webhook-log:${id}`;

  return {
    saveSubscription: (id, json) =>
      run("saveSubscription", async () => {
        await client.hset(subscriptions, id, json);
      }),
    readSubscription: (id) => run("readSubscription", () => client.hget(subscriptions, id)),
    listSubscriptions: () =>
      run("listSubscriptions", async () => {
        const all = await client.hgetall(subscriptions);
        return Object.keys(all)
          .sort()
          .map((id) => ({ id, json: all[id] as string }));
      }),
    deleteSubscription: (id) =>
      run("deleteSubscription", async () => {
        await client.del(logOf(id));
        return (await client.hdel(subscriptions, id)) > 0;
      }),
    appendDelivery: (record, keep) =>
      run("appendDelivery", async () => {
        const key = logOf(record.subscription_id);
        await client
          .multi()
          .lpush(key, JSON.stringify(record))
          .ltrim(key, 0, keep - 1)
          .exec();
      }),
    listDeliveries: (query) =>
      run("listDeliveries", async () => {
        const found: WebhookLogRecord[] = [];
        const key = logOf(query.subscription_id);
        // The log is capped at `keep` entries, so this walk is bounded however selective the filter is.
        for (let start = 0; found.length < query.limit; start += LOG_PAGE) {
          const page = await client.lrange(key, start, start + LOG_PAGE - 1);
          for (const text of page) {
            const record = JSON.parse(text) as WebhookLogRecord;
            if (matches(record, query) && found.length < query.limit) found.push(record);
          }
          if (page.length < LOG_PAGE) break;
        }
        return found;
      }),
  };
}

function matches(record: WebhookLogRecord, query: WebhookLogQuery): boolean {
  return (
    (query.event_id === undefined || record.event_id === query.event_id) &&
    (query.ok === undefined || record.ok === query.ok) &&
    (query.since === undefined || record.at >= query.since) &&
    (query.until === undefined || record.at < query.until)
  );
}
