import type { EventStorage, WebhookLogRecord, WebhookStore } from "../../storage/types.js";
import type { ConformanceExpect, ConformanceIt } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

/**
 * The cases of the optional webhook capability (`storage.webhooks`): subscriptions saved, replaced, listed in id
 * order and deleted; a delivery log per subscription, newest first, filtered, trimmed to `keep`.
 */
export function defineWebhookConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
): void {
  const withWebhooks = (body: (webhooks: WebhookStore, prefix: string) => Promise<void>) =>
    withStore(async ({ storage }) => body(webhooksOf(storage), `sub-${crypto.randomUUID().slice(0, 8)}`));

  it(
    "webhooks: saves, replaces, lists in id order and deletes subscriptions",
    () =>
      withWebhooks(async (webhooks, prefix) => {
        expect(await webhooks.readSubscription(`${prefix}-a`)).toBeNull();
        await webhooks.saveSubscription(`${prefix}-b`, '{"v":1}');
        await webhooks.saveSubscription(`${prefix}-a`, '{"v":2}');
        await webhooks.saveSubscription(`${prefix}-b`, '{"v":3,"text":"ü \\"quoted\\""}');
        expect(await webhooks.readSubscription(`${prefix}-b`)).toBe('{"v":3,"text":"ü \\"quoted\\""}');
        const mine = (await webhooks.listSubscriptions()).filter(({ id }) => id.startsWith(prefix));
        expect(mine.map(({ id, json }) => [id, json])).toEqual([
          [`${prefix}-a`, '{"v":2}'],
          [`${prefix}-b`, '{"v":3,"text":"ü \\"quoted\\""}'],
        ]);
        expect(await webhooks.deleteSubscription(`${prefix}-a`)).toBe(true);
        expect(await webhooks.deleteSubscription(`${prefix}-a`)).toBe(false);
        expect(await webhooks.readSubscription(`${prefix}-a`)).toBeNull();
      }),
    timeout,
  );

  it(
    "webhooks: lists a subscription's log newest first, filtered by event, outcome and time",
    () =>
      withWebhooks(async (webhooks, id) => {
        const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
        const records = [
          entry(id, first, false, "2026-12-01T10:00:00.000Z"),
          entry(id, first, true, "2026-12-01T10:00:01.000Z"),
          entry(id, second, false, "2026-12-01T10:00:02.000Z"),
          entry(id, null, false, "2026-12-01T10:00:03.000Z"),
          entry(`${id}-other`, first, true, "2026-12-01T10:00:04.000Z"),
        ];
        for (const record of records) await webhooks.appendDelivery(record, 100);
        const list = (query: Partial<Parameters<WebhookStore["listDeliveries"]>[0]>) =>
          webhooks.listDeliveries({ subscription_id: id, limit: 100, ...query });
        expect(await list({})).toEqual([records[3], records[2], records[1], records[0]]);
        expect(await list({ limit: 2 })).toEqual([records[3], records[2]]);
        expect(await list({ event_id: first })).toEqual([records[1], records[0]]);
        expect(await list({ ok: true })).toEqual([records[1]]);
        expect(await list({ ok: false, event_id: first })).toEqual([records[0]]);
        expect(await list({ since: "2026-12-01T10:00:01.000Z", until: "2026-12-01T10:00:03.000Z" })).toEqual([
          records[2],
          records[1],
        ]);
        expect(await webhooks.listDeliveries({ subscription_id: `${id}-other`, limit: 10 })).toEqual([records[4]]);
      }),
    timeout,
  );

  it(
    "webhooks: keeps the newest entries of each log, and deleting a subscription deletes its log",
    () =>
      withWebhooks(async (webhooks, id) => {
        await webhooks.saveSubscription(id, "{}");
        const records = Array.from({ length: 7 }, (_, index) =>
          entry(id, crypto.randomUUID(), index % 2 === 0, `2026-12-01T10:00:0${index}.000Z`),
        );
        for (const record of records) await webhooks.appendDelivery(record, 3);
        expect(await webhooks.listDeliveries({ subscription_id: id, limit: 10 })).toEqual(records.slice(4).reverse());
        await webhooks.deleteSubscription(id);
        expect(await webhooks.listDeliveries({ subscription_id: id, limit: 10 })).toEqual([]);
      }),
    timeout,
  );
}

function entry(subscription_id: string, event_id: string | null, ok: boolean, at: string): WebhookLogRecord {
  return { subscription_id, event_id, ok, at, json: JSON.stringify({ subscription_id, event_id, ok, at }) };
}

function webhooksOf(storage: EventStorage): WebhookStore {
  if (storage.webhooks === undefined)
    throw new Error(`the ${storage.name} storage has no webhooks capability, but the suite was told it has`);
  return storage.webhooks;
}
