import type { WebhookLogQuery, WebhookLogRecord, WebhookStore } from "../types.js";

/**
 * Webhook subscriptions and delivery logs of a memory store: maps in this process only, so a dispatcher on a
 * memory store delivers from this process alone.
 */
export function memoryWebhooks(): WebhookStore {
  const subscriptions = new Map<string, string>();
  const logs = new Map<string, WebhookLogRecord[]>();

  return {
    async saveSubscription(id, json) {
      subscriptions.set(id, json);
    },
    async readSubscription(id) {
      return subscriptions.get(id) ?? null;
    },
    async listSubscriptions() {
      return [...subscriptions].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, json]) => ({ id, json }));
    },
    async deleteSubscription(id) {
      logs.delete(id);
      return subscriptions.delete(id);
    },
    async appendDelivery(record, keep) {
      const log = logs.get(record.subscription_id) ?? [];
      logs.set(record.subscription_id, log);
      log.push(Object.freeze({ ...record }));
      if (log.length > keep) log.splice(0, log.length - keep);
    },
    async listDeliveries(query: WebhookLogQuery) {
      const found: WebhookLogRecord[] = [];
      const log = logs.get(query.subscription_id) ?? [];
      for (let index = log.length - 1; index >= 0 && found.length < query.limit; index--) {
        const record = log[index] as WebhookLogRecord;
        if (matchesLogQuery(record, query)) found.push(record);
      }
      return found;
    },
  };
}

function matchesLogQuery(record: WebhookLogRecord, query: WebhookLogQuery): boolean {
  if (query.event_id !== undefined && record.event_id !== query.event_id) return false;
  if (query.ok !== undefined && record.ok !== query.ok) return false;
  if (query.since !== undefined && record.at < query.since) return false;
  return query.until === undefined || record.at < query.until;
}
