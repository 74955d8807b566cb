import { type Event, EventBus, memoryStorage } from "ad-seller-events";
import { toIabEvent } from "ad-seller-events/interop";
import {
  createWebhookDispatcher,
  generateWebhookSecret,
  verifyWebhook,
  type WebhookDispatcherOptions,
  type WebhookErrorReport,
} from "ad-seller-events/webhooks";
import { HTTP } from "cloudevents";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { type Answer, type ReceivedRequest, startReceiver, waitFor } from "./receiver.js";

const FAST: WebhookDispatcherOptions = {
  allowPrivateNetworks: true,
  retry: { attempts: 4, initialDelayMs: 5, maxDelayMs: 20 },
  refreshMs: 50,
  leaseMs: 1_000,
};
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(answer?: (request: ReceivedRequest, index: number) => Answer, options = FAST) {
  const receiver = await startReceiver(answer);
  const bus = new EventBus({ storage: memoryStorage() });
  const dispatcher = createWebhookDispatcher(bus, options);
  cleanups.push(
    () => receiver.close(),
    () => bus.close(),
    () => dispatcher.close(),
  );
  return { receiver, bus, dispatcher };
}

describe("webhook delivery", () => {
  it("delivers matching events in order, signed so that the standardwebhooks package and verifyWebhook accept them", async () => {
    const { receiver, bus, dispatcher } = await setup();
    await bus.emitEvent({ event_type: "deal.created", deal_id: "before-add" });
    const secret = generateWebhookSecret();
    await dispatcher.add({ url: receiver.url(), secrets: secret, event_types: ["deal.*"], filter: { deal_id: "d-1" } });
    const wanted = [];
    for (const [type, deal] of [
      ["deal.created", "d-1"],
      ["deal.created", "d-2"],
      ["session.created", "d-1"],
      ["deal.registered", "d-1"],
      ["deal.synced", "d-1"],
    ] as const) {
      const event = await bus.emitEvent({ event_type: type, deal_id: deal });
      if (type.startsWith("deal.") && deal === "d-1") wanted.push(event.event_id);
    }
    await waitFor("three deliveries", () => receiver.received.length >= 3);
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual(wanted);
    const library = new Webhook(secret);
    for (const request of receiver.received) {
      const payload = library.verify(request.body, request.headers) as { event_id: string };
      expect(payload.event_id).toBe(request.headers["webhook-id"]);
      const ours = await verifyWebhook({ headers: request.headers, body: request.body }, secret);
      expect(ours.payload).toEqual(payload);
      expect(JSON.parse(request.body)).toEqual(
        await bus.getEvent(payload.event_id).then((e) => JSON.parse(JSON.stringify(e))),
      );
    }
  });

  it("delivers the cloudevents format that the cloudevents SDK reads and the iab format of toIabEvent, both signed", async () => {
    const { receiver, bus, dispatcher } = await setup();
    const secret = generateWebhookSecret();
    await dispatcher.add({ url: receiver.url("/ce"), secrets: secret, format: "cloudevents" });
    await dispatcher.add({ url: receiver.url("/iab"), secrets: secret, format: "iab" });
    const event = await bus.emitEvent({ event_type: "approval.denied", deal_id: "d-9", payload: { gate: "price" } });
    await waitFor("two deliveries", () => receiver.received.length >= 2);
    const library = new Webhook(secret);
    const byPath = (suffix: string) => {
      const request = receiver.received.find((candidate) => candidate.path === `/${suffix}`);
      if (request === undefined) throw new Error(`no delivery to /${suffix}`);
      library.verify(request.body, request.headers);
      return request;
    };
    const cloud = byPath("ce");
    expect(cloud.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    const [read] = [HTTP.toEvent({ headers: cloud.headers, body: cloud.body })].flat();
    expect(read?.id).toBe(event.event_id);
    expect(read?.type).toBe("approval.denied");
    expect(read?.data).toEqual({ gate: "price" });
    expect(JSON.parse(byPath("iab").body)).toEqual(JSON.parse(JSON.stringify(toIabEvent(event))));
  });

  it("retries a 500 with the same webhook-id and logs both attempts", async () => {
    const { receiver, bus, dispatcher } = await setup((_request, index) => ({
      status: index === 0 ? 500 : 200,
      body: index === 0 ? "boom" : "ok",
    }));
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    const event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
    await waitFor("the retry", () => receiver.received.length >= 2);
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual([event.event_id, event.event_id]);
    await waitFor("two log entries", async () => (await dispatcher.deliveries(id)).length >= 2);
    const log = await dispatcher.deliveries(id);
    expect(log.map(({ attempt, ok, status, response }) => ({ attempt, ok, status, response }))).toEqual([
      { attempt: 2, ok: true, status: 200, response: "ok" },
      { attempt: 1, ok: false, status: 500, response: "boom" },
    ]);
    expect(log[1]?.error).toMatch(/answered 500/);
  });

  it("does not send a batch's delivered events again when a later event of it fails its whole schedule", async () => {
    let poison = "";
    const { receiver, bus, dispatcher } = await setup(
      (request) => ({ status: request.headers["webhook-id"] === poison ? 500 : 200 }),
      {
        ...FAST,
        retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        autoDisable: false,
      },
    );
    const events: Event[] = [];
    for (let index = 0; index < 3; index++) events.push(await bus.emitEvent({ event_type: "deal.created" }));
    poison = events[1]?.event_id as string;
    await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret(), from: "start" });
    await waitFor("the third event", () =>
      receiver.received.some((r) => r.headers["webhook-id"] === events[2]?.event_id),
    );
    const [first, second, third] = events.map((event) => event.event_id);
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual([first, second, second, third]);
  });

  it("keeps an event's schedule when the store fails while counting its failures, and reports it", async () => {
    const storage = memoryStorage();
    const webhooks = storage.webhooks as NonNullable<typeof storage.webhooks>;
    let failReads = false;
    const flaky = {
      ...storage,
      webhooks: {
        ...webhooks,
        readSubscription: (id: string) =>
          failReads ? Promise.reject(new Error("store down")) : webhooks.readSubscription(id),
      },
    };
    const receiver = await startReceiver((_request, index) => ({ status: index === 0 ? 500 : 200 }));
    const bus = new EventBus({ storage: flaky });
    const reports: WebhookErrorReport[] = [];
    const dispatcher = createWebhookDispatcher(bus, { ...FAST, onError: (report) => reports.push(report) });
    cleanups.push(
      () => receiver.close(),
      () => bus.close(),
      () => dispatcher.close(),
    );
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    failReads = true;
    const event = await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("the retry", () => receiver.received.length === 2);
    failReads = false;
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual([event.event_id, event.event_id]);
    expect(String(reports[0]?.error)).toMatch(/store down/);
    const consumer = (await dispatcher.get(id))?.consumer as string;
    expect(await storage.checkpoints?.deadLetters(consumer)).toEqual([]);
  });

  it("applies new types from the checkpoint, reports its state, and forgets a removed subscription", async () => {
    const { receiver, bus, dispatcher } = await setup();
    const { id } = await dispatcher.add({
      url: receiver.url(),
      secrets: generateWebhookSecret(),
      event_types: "deal.*",
    });
    const deal = await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("the deal event", () => receiver.received.length === 1);
    await dispatcher.update(id, { event_types: ["session.*"] });
    await bus.emitEvent({ event_type: "deal.created" });
    const session = await bus.emitEvent({ event_type: "session.created" });
    await waitFor("the session event", () => receiver.received.length === 2);
    expect(receiver.received.map((request) => request.headers["webhook-id"])).toEqual([
      deal.event_id,
      session.event_id,
    ]);
    await waitFor(
      "the checkpoint after the session event",
      () => dispatcher.status()[0]?.position === session.event_id,
    );
    expect(dispatcher.status()).toMatchObject([{ id, state: "active", position: session.event_id }]);
    expect(await dispatcher.remove(id)).toBe(true);
    expect(dispatcher.status()).toEqual([]);
    expect(await dispatcher.get(id)).toBeNull();
    await expect(dispatcher.deliveries(id)).rejects.toThrow(/no subscription has id/);
    expect(await dispatcher.remove(id)).toBe(false);
  });

  it("counts a timeout as a failed attempt and a slow answer within the timeout as a success", async () => {
    const { receiver, bus, dispatcher } = await setup(
      (_request, index) => (index === 0 ? "hang" : { status: 200, delayMs: 100 }),
      { ...FAST, timeoutMs: 300 },
    );
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor(
      "the second attempt logged",
      async () => (await dispatcher.deliveries(id, { ok: true })).length === 1,
    );
    const [success, timeout] = await dispatcher.deliveries(id);
    expect(timeout?.error).toMatch(/timeout of 300 ms/);
    expect(timeout?.status).toBeNull();
    expect(success?.ok).toBe(true);
  });

  it("never follows a redirect", async () => {
    const { receiver, bus, dispatcher } = await setup((request) =>
      request.path === "/hook" ? { status: 302, headers: { location: "/elsewhere" } } : { status: 200 },
    );
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("two attempts", async () => (await dispatcher.deliveries(id)).length >= 2);
    expect(receiver.received.every((request) => request.path === "/hook")).toBe(true);
    const [entry] = await dispatcher.deliveries(id);
    expect(entry).toMatchObject({ ok: false, status: 302 });
    expect(entry?.error).toMatch(/redirects are not followed/);
  });

  it("signs with every secret during a rotation, and stops using a secret once it is removed", async () => {
    const { receiver, bus, dispatcher } = await setup();
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: oldSecret });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("first delivery", () => receiver.received.length === 1);
    await dispatcher.update(id, { secrets: [newSecret, oldSecret] });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("second delivery", () => receiver.received.length === 2);
    await dispatcher.update(id, { secrets: [newSecret] });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("third delivery", () => receiver.received.length === 3);
    const [first, second, third] = receiver.received as [ReceivedRequest, ReceivedRequest, ReceivedRequest];
    expect(second.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    for (const secret of [oldSecret, newSecret])
      expect(() => new Webhook(secret).verify(second.body, second.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(first.body, first.headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(third.body, third.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(third.body, third.headers)).toThrow();
  });

  it("never sends one subscription's events or signatures to another", async () => {
    const { receiver, bus, dispatcher } = await setup();
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    await dispatcher.add({ url: receiver.url("/a"), secrets: a, event_types: "deal.*" });
    await dispatcher.add({ url: receiver.url("/b"), secrets: b, event_types: "session.*" });
    await bus.emitEvent({ event_type: "deal.created" });
    await bus.emitEvent({ event_type: "session.created" });
    await waitFor("two deliveries", () => receiver.received.length === 2);
    for (const request of receiver.received) {
      const [mine, theirs] = request.path === "/a" ? [a, b] : [b, a];
      const { event_type } = JSON.parse(request.body) as { event_type: string };
      expect(event_type.startsWith(request.path === "/a" ? "deal." : "session.")).toBe(true);
      expect(() => new Webhook(mine).verify(request.body, request.headers)).not.toThrow();
      expect(() => new Webhook(theirs).verify(request.body, request.headers)).toThrow();
    }
  });

  it("keeps delivering to a healthy subscription while another one's endpoint hangs", async () => {
    const { receiver, bus, dispatcher } = await setup(
      (request) => (request.path === "/dead" ? "hang" : { status: 200 }),
      {
        ...FAST,
        timeoutMs: 600_000,
      },
    );
    await dispatcher.add({ url: receiver.url("/dead"), secrets: generateWebhookSecret() });
    await dispatcher.add({ url: receiver.url("/live"), secrets: generateWebhookSecret() });
    for (let index = 0; index < 20; index++) await bus.emitEvent({ event_type: "deal.created" });
    await waitFor(
      "twenty deliveries to the live endpoint",
      () => receiver.received.filter((r) => r.path === "/live").length === 20,
    );
    expect(receiver.received.filter((request) => request.path === "/dead")).toHaveLength(1);
  });

  it("disables a subscription after repeated failures, reports it, and resumes at the same event once enabled", async () => {
    let healthy = false;
    const reports: WebhookErrorReport[] = [];
    const { receiver, bus, dispatcher } = await setup(() => ({ status: healthy ? 200 : 503 }), {
      ...FAST,
      retry: { attempts: 10, initialDelayMs: 5, maxDelayMs: 10 },
      autoDisable: { failures: 3, windowMs: 0 },
      onError: (report) => reports.push(report),
    });
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    const event = await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("the auto-disable", async () => (await dispatcher.get(id))?.enabled === false);
    expect(receiver.received).toHaveLength(3);
    expect((await dispatcher.get(id))?.disabled_reason).toMatch(/after 3 failed attempts/);
    expect(reports).toMatchObject([{ source: "webhook", subscription_id: id }]);
    const [disabled] = await dispatcher.deliveries(id);
    expect(disabled).toMatchObject({ kind: "disabled", event_id: null });
    healthy = true;
    await dispatcher.enable(id);
    await waitFor("the delivery after enable", () => receiver.received.length === 4);
    expect(receiver.received[3]?.headers["webhook-id"]).toBe(event.event_id);
    expect((await dispatcher.get(id))?.failure_streak).toBe(0);
  });

  it("redelivers one event, every failed event, or a time range", async () => {
    let healthy = false;
    const { receiver, bus, dispatcher } = await setup(() => ({ status: healthy ? 200 : 500 }), {
      ...FAST,
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      autoDisable: false,
    });
    const { id } = await dispatcher.add({ url: receiver.url(), secrets: generateWebhookSecret() });
    const first = await bus.emitEvent({ event_type: "deal.created" });
    const second = await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("both schedules to fail", () => receiver.received.length === 4);
    await waitFor(
      "the dead letters",
      async () =>
        (await bus.storage.checkpoints?.deadLetters((await dispatcher.get(id))?.consumer ?? ""))?.length === 2,
    );
    healthy = true;
    const retried = await dispatcher.redeliver(id, { failed: true });
    expect(retried).toEqual({ delivered: [first.event_id, second.event_id], failed: [] });
    expect(await dispatcher.redeliver(id, { failed: true })).toEqual({ delivered: [], failed: [] });
    expect(await dispatcher.redeliver(id, { event_id: second.event_id })).toEqual({
      delivered: [second.event_id],
      failed: [],
    });
    const range = await dispatcher.redeliver(id, { since: first.timestamp, until: new Date(Date.now() + 1000) });
    expect(range.delivered).toEqual([first.event_id, second.event_id]);
    const redeliveries = await dispatcher.deliveries(id, { ok: true });
    expect(redeliveries.every((entry) => entry.kind === "redelivery")).toBe(true);
    expect(receiver.received.slice(4).map((request) => request.headers["webhook-id"])).toEqual([
      first.event_id,
      second.event_id,
      second.event_id,
      first.event_id,
      second.event_id,
    ]);
  });
});
