import { EventBus } from "ad-seller-events";
import {
  createWebhookDispatcher,
  generateWebhookSecret,
  verifyWebhook,
  WebhookVerificationError,
} from "ad-seller-events/webhooks";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { startReceiver, waitFor } from "./receiver.js";

const body = JSON.stringify({ event_id: "e-1", event_type: "deal.created" });

function signedByLibrary(secret: string, at = new Date()) {
  const id = "msg_2f1c";
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = new Webhook(secret).sign(id, at, body);
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature };
}

describe("verifyWebhook", () => {
  it("accepts what the standardwebhooks package signs, from a header record or a fetch Request", async () => {
    const secret = generateWebhookSecret();
    const headers = signedByLibrary(secret);
    const fromRecord = await verifyWebhook({ headers, body }, secret);
    expect(fromRecord).toMatchObject({ id: "msg_2f1c", body, payload: JSON.parse(body) });
    const request = new Request("https://buyer.example/hooks", { method: "POST", headers, body });
    expect((await verifyWebhook(request, [generateWebhookSecret(), secret])).id).toBe("msg_2f1c");
    const bytes = new TextEncoder().encode(body);
    expect((await verifyWebhook({ headers: new Headers(headers), body: bytes }, secret)).payload).toEqual(
      JSON.parse(body),
    );
  });

  it("refuses a wrong secret, a changed body, a stale or future timestamp, and missing headers", async () => {
    const secret = generateWebhookSecret();
    const headers = signedByLibrary(secret);
    const refused = (promise: Promise<unknown>, pattern: RegExp) =>
      expect(promise).rejects.toSatisfy((error) => WebhookVerificationError.is(error) && pattern.test(String(error)));
    await refused(verifyWebhook({ headers, body }, generateWebhookSecret()), /no signature matches/);
    await refused(verifyWebhook({ headers, body: body.replace("e-1", "e-2") }, secret), /no signature matches/);
    const old = signedByLibrary(secret, new Date(Date.now() - 301_000));
    await refused(verifyWebhook({ headers: old, body }, secret), /not within 300 s/);
    await refused(verifyWebhook({ headers: old, body }, secret, { toleranceSeconds: 60 }), /not within 60 s/);
    expect((await verifyWebhook({ headers: old, body }, secret, { toleranceSeconds: 400 })).id).toBe("msg_2f1c");
    const future = signedByLibrary(secret, new Date(Date.now() + 301_000));
    await refused(verifyWebhook({ headers: future, body }, secret), /not within/);
    const { "webhook-signature": _signature, ...unsigned } = headers;
    await refused(verifyWebhook({ headers: unsigned, body }, secret), /headers: webhook-id, webhook-timestamp/);
    await expect(verifyWebhook({ headers, body }, "not-a-secret")).rejects.toThrow(/secret: must be/);
    await expect(verifyWebhook({ headers, body }, secret, { toleranceSeconds: -1 })).rejects.toThrow(
      /toleranceSeconds/,
    );
    await expect(verifyWebhook({ headers, body }, secret, { tolerance: 5 } as never)).rejects.toThrow(
      /tolerance: is not an option of verifyWebhook/,
    );
  });

  it("verifies v1a Ed25519 signatures made by the dispatcher with the whpk_ key alone", async () => {
    const receiver = await startReceiver();
    const bus = new EventBus();
    const dispatcher = createWebhookDispatcher(bus, { allowPrivateNetworks: true });
    try {
      const { signing, verifying } = generateWebhookSecret("ed25519");
      const hmac = generateWebhookSecret();
      await dispatcher.add({ url: receiver.url(), secrets: [signing, hmac] });
      const event = await bus.emitEvent({ event_type: "deal.created" });
      await waitFor("the delivery", () => receiver.received.length === 1);
      const request = receiver.received[0] as { headers: Record<string, string>; body: string };
      expect(request.headers["webhook-signature"]).toMatch(/^v1a,\S+ v1,\S+$/);
      expect((await verifyWebhook(request, verifying)).id).toBe(event.event_id);
      expect(() => new Webhook(hmac).verify(request.body, request.headers)).not.toThrow();
      const other = generateWebhookSecret("ed25519").verifying;
      await expect(verifyWebhook(request, other)).rejects.toThrow(/no signature matches/);
    } finally {
      await dispatcher.close();
      await bus.close();
      await receiver.close();
    }
  });
});
