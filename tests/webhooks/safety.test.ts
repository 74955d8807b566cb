import { EventBus, EventValidationError, memoryStorage } from "ad-seller-events";
import {
  createWebhookDispatcher,
  generateWebhookSecret,
  type WebhookDispatcherOptions,
} from "ad-seller-events/webhooks";
import { afterEach, describe, expect, it } from "vitest";
import { isPrivateAddress } from "../../src/webhooks/webhook-network.js";
import { startReceiver, waitFor } from "./receiver.js";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: WebhookDispatcherOptions = {}) {
  const receiver = await startReceiver();
  const bus = new EventBus({ storage: memoryStorage() });
  const dispatcher = createWebhookDispatcher(bus, {
    retry: { attempts: 1 },
    autoDisable: false,
    refreshMs: 50,
    ...options,
  });
  cleanups.push(
    () => receiver.close(),
    () => bus.close(),
    () => dispatcher.close(),
  );
  return { receiver, bus, dispatcher };
}

describe("webhook target safety", () => {
  it.each([
    ["a loopback address", (port: number) => `http://127.0.0.1:${port}/hook`, undefined],
    ["localhost", (port: number) => `http://localhost:${port}/hook`, undefined],
    [
      "a public-looking name that resolves to 127.0.0.1",
      (port: number) => `http://partner.example:${port}/hook`,
      "127.0.0.1",
    ],
    [
      "a name with one private answer among public ones",
      (port: number) => `http://mixed.example:${port}/hook`,
      "mixed",
    ],
    ["an IPv4-mapped IPv6 loopback", (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`, undefined],
  ])("refuses %s without allowPrivateNetworks, checked at each attempt", async (_name, url, answer) => {
    const { receiver, bus, dispatcher } = await setup({
      lookup: async (hostname) => {
        if (answer === "mixed")
          return [
            { address: "93.184.215.14", family: 4 },
            { address: "127.0.0.1", family: 4 },
          ];
        if (answer !== undefined) return [{ address: answer, family: 4 }];
        if (hostname === "localhost") return [{ address: "127.0.0.1", family: 4 }];
        throw new Error(`unexpected lookup of ${hostname}`);
      },
    });
    const { id } = await dispatcher.add({ url: url(receiver.port), secrets: generateWebhookSecret() });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("the refused attempt in the log", async () => (await dispatcher.deliveries(id)).length === 1);
    const [entry] = await dispatcher.deliveries(id);
    expect(entry).toMatchObject({ ok: false, status: null });
    expect(entry?.error).toMatch(/refused: .* private, loopback or link-local/);
    expect(receiver.received).toHaveLength(0);
  });

  it("delivers to a name resolving to 127.0.0.1 with allowPrivateNetworks, connecting to the checked address", async () => {
    const { receiver, bus, dispatcher } = await setup({
      allowPrivateNetworks: true,
      lookup: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    await dispatcher.add({ url: `http://partner.example:${receiver.port}/hook`, secrets: generateWebhookSecret() });
    await bus.emitEvent({ event_type: "deal.created" });
    await waitFor("the delivery", () => receiver.received.length === 1);
    expect(receiver.received[0]?.headers.host).toBe(`partner.example:${receiver.port}`);
  });

  it("classifies private, loopback, link-local and public addresses", () => {
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:10.0.0.1",
      "::",
    ])
      expect(isPrivateAddress(address), address).toBe(true);
    for (const address of ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
      expect(isPrivateAddress(address), address).toBe(false);
  });
});

describe("webhook input", () => {
  it("refuses unknown and bad options naming each one", async () => {
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const attempt = (options: unknown) => () => createWebhookDispatcher(bus, options as WebhookDispatcherOptions);
    expect(attempt({ timeoutMS: 5 })).toThrow(/timeoutMS.*did you mean "timeoutMs"/);
    expect(attempt({ retry: { atempts: 3 } })).toThrow(/retry\.atempts/);
    expect(attempt({ timeoutMs: 0 })).toThrow(/timeoutMs: must be an integer/);
    expect(attempt({ autoDisable: { failures: -1 } })).toThrow(/autoDisable\.failures/);
    expect(attempt({ lookup: "dns" })).toThrow(/lookup: must be a function/);
    expect(attempt("fast")).toThrow(EventValidationError);
  });

  it("refuses bad subscriptions naming the field", async () => {
    const { dispatcher } = await setup();
    const secret = generateWebhookSecret();
    const add = (input: Record<string, unknown>) =>
      dispatcher.add({ url: "https://buyer.example/h", secrets: secret, ...input } as never);
    await expect(add({ url: "ftp://buyer.example" })).rejects.toThrow(/url: must be an http: or https: URL/);
    await expect(add({ secrets: "hunter2" })).rejects.toThrow(/secrets\[0\]: must be/);
    await expect(add({ secrets: `whsec_${Buffer.from("short").toString("base64")}` })).rejects.toThrow(
      /24 to 64 bytes/,
    );
    await expect(add({ secrets: [] })).rejects.toThrow(/secrets: must be/);
    await expect(add({ event_types: ["deal.*", "nope.*"] })).rejects.toThrow(/event_types/);
    await expect(add({ filter: { buyer: "x" } })).rejects.toThrow(/filter\.buyer: is not a filter/);
    await expect(add({ format: "xml" })).rejects.toThrow(/format: must be one of/);
    await expect(add({ from: "yesterday" })).rejects.toThrow(/from: must be/);
    await expect(add({ urll: "x" })).rejects.toThrow(/urll.*did you mean "url"/);
    await expect(add({ id: "a b" })).rejects.toThrow(/id: must be/);
    const { id } = await add({ id: "buyer-1" });
    await expect(add({ id })).rejects.toThrow(/id: a subscription with id buyer-1 exists/);
    await expect(dispatcher.update(id, { enabled: "yes" } as never)).rejects.toThrow(/enabled: must be true or false/);
    await expect(dispatcher.update("missing", {})).rejects.toThrow(/id: no subscription has id missing/);
    await expect(dispatcher.deliveries(id, { limit: 0 })).rejects.toThrow(/limit: must be an integer/);
    await expect(dispatcher.redeliver(id, {})).rejects.toThrow(/give exactly one of/);
    await expect(dispatcher.redeliver(id, { event_id: "x" })).rejects.toThrow(/event_id: must be an event_id/);
  });

  it("refuses a store without the webhooks capability", async () => {
    const { webhooks: _webhooks, ...storage } = memoryStorage();
    const bus = new EventBus({ storage: { ...storage, name: "bare" } });
    cleanups.push(() => bus.close());
    expect(() => createWebhookDispatcher(bus)).toThrow(/bare storage has no webhooks capability/);
  });
});

describe("webhook dispatcher lifecycle", () => {
  it("stops quietly when its bus is closed first, and refuses management calls once closed", async () => {
    const reports: unknown[] = [];
    const bus = new EventBus({ storage: memoryStorage(), closeStorage: true });
    const dispatcher = createWebhookDispatcher(bus, { refreshMs: 10, onError: (report) => reports.push(report) });
    await dispatcher.add({ url: "https://buyer.example/h", secrets: generateWebhookSecret() });
    await bus.close();
    await new Promise((resolve) => setTimeout(resolve, 100)); // ten refresh periods
    await dispatcher.close();
    expect(reports).toEqual([]);
    await expect(dispatcher.add({ url: "https://buyer.example/h", secrets: generateWebhookSecret() })).rejects.toThrow(
      /dispatcher is closed/,
    );
  });
});

describe("hostile webhook input", () => {
  it("answers throwing getters and revoked proxies with EventValidationError", async () => {
    const bus = new EventBus();
    cleanups.push(() => bus.close());
    const throwing = Object.defineProperty({}, "timeoutMs", {
      enumerable: true,
      get() {
        throw new Error("boom");
      },
    });
    expect(() => createWebhookDispatcher(bus, throwing)).toThrow(EventValidationError);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => createWebhookDispatcher(bus, proxy)).toThrow(EventValidationError);
    const dispatcher = createWebhookDispatcher(bus);
    cleanups.push(() => dispatcher.close());
    const hostile = Object.defineProperty({ secrets: generateWebhookSecret() }, "url", {
      enumerable: true,
      get() {
        throw new Error("boom");
      },
    });
    await expect(dispatcher.add(hostile as never)).rejects.toThrow(EventValidationError);
    await expect(dispatcher.add(proxy as never)).rejects.toThrow(EventValidationError);
  });
});
