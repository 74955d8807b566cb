import { describe, expect, it } from "vitest";
import * as z from "zod";
import { EventBus, EventValidationError, type PayloadSchemas } from "../../src/index.js";
import { createTestBus } from "../../src/testing/index.js";

const payloads = {
  "negotiation.round": z.object({ round: z.number().int().positive(), buyer_cpm: z.number(), seller_cpm: z.number() }),
  "deal.created": z.object({ cpm: z.number(), currency: z.string().trim().length(3) }),
} satisfies PayloadSchemas;

async function rejection(promise: Promise<unknown>): Promise<EventValidationError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!EventValidationError.is(error)) throw new Error(`expected an EventValidationError, got ${String(error)}`);
  return error;
}

describe("payloads", () => {
  it("refuses a payload that fails its schema, naming payload.<path>, and stores nothing", async () => {
    const bus = new EventBus({ payloads });
    const seen: unknown[] = [];
    bus.subscribe("*", (event) => {
      seen.push(event);
    });
    const error = await rejection(
      bus.emitEvent({ event_type: "negotiation.round", payload: { round: 0, buyer_cpm: 9 } as never }),
    );
    expect(error.issues.map((issue) => issue.path.join("."))).toEqual(["payload.round", "payload.seller_cpm"]);
    expect(error.message).toContain("payload.round: ");
    expect(await bus.listEvents()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("reports the payload's problems and the other fields' together", async () => {
    const bus = new EventBus({ payloads });
    const error = await rejection(
      bus.emitEvent({ event_type: "deal.created", deal_id: 7 as never, payload: { cpm: "high" } as never }),
    );
    expect(error.issues.map((issue) => issue.path.join("."))).toEqual(["deal_id", "payload.cpm", "payload.currency"]);
  });

  it("stores the schema's output (here trimmed), deeply frozen", async () => {
    const bus = new EventBus({ payloads });
    const event = await bus.emitEvent({ event_type: "deal.created", payload: { cpm: 12, currency: " EUR " } });
    expect(event.payload).toEqual({ cpm: 12, currency: "EUR" });
    expect(Object.isFrozen(event.payload)).toBe(true);
    expect(await bus.getEvent(event.event_id)).toBe(event);
  });

  it("leaves types without a schema as they were: any JSON object", async () => {
    const bus = new EventBus({ payloads });
    const event = await bus.emitEvent({ event_type: "deal.synced", payload: { anything: [1, "two", { three: 3 }] } });
    expect(event.payload).toEqual({ anything: [1, "two", { three: 3 }] });
  });

  it("still applies the JSON rules and the size cap to a schema's output", async () => {
    const bus = new EventBus({
      payloads: { "session.created": z.object({ at: z.coerce.date() }) },
      maxPayloadBytes: 4096,
    });
    const error = await rejection(bus.emitEvent({ event_type: "session.created", payload: { at: "2026-11-24" } }));
    expect(error.issues[0]?.path).toEqual(["payload", "at"]);
  });

  it("refuses a payloads option with a key that is not a type, or a value that is not a schema", () => {
    expect(() => new EventBus({ payloads: { "deal.create": z.object({}) } as never })).toThrow(
      /payloads\.deal\.create: "deal\.create" is not an event type; did you mean "deal\.created"\?/,
    );
    expect(() => new EventBus({ payloads: { "deal.created": { parse() {} } } as never })).toThrow(
      /payloads\.deal\.created: must be a zod schema/,
    );
  });

  it("parsePayload checks a value against the schema of its type", () => {
    const bus = new EventBus({ payloads });
    const payload = bus.parsePayload("negotiation.round", { round: 2, buyer_cpm: 9, seller_cpm: 11 });
    expect(payload).toEqual({ round: 2, buyer_cpm: 9, seller_cpm: 11 });
    expect(Object.isFrozen(payload)).toBe(true);
    expect(() => bus.parsePayload("negotiation.round", { round: 2 })).toThrow(/payload\.buyer_cpm/);
    expect(bus.parsePayload("session.closed", { any: true })).toEqual({ any: true });
    expect(() => bus.parsePayload("session.closed", { bad: Number.NaN })).toThrow(/payload\.bad/);
    expect(() => bus.parsePayload("deal.create" as never, {})).toThrow(/did you mean "deal\.created"/);
  });

  it("does not re-validate what storage returns: the types are the writer's promise", async () => {
    const old = new EventBus();
    const stored = await old.emitEvent({ event_type: "negotiation.round", payload: { round: "one" } });
    const bus = new EventBus({ payloads, storage: old.storage });
    const read = await bus.getEvent(stored.event_id);
    expect(read?.payload).toEqual({ round: "one" });
    expect(() => bus.parsePayload("negotiation.round", read?.payload)).toThrow(EventValidationError);
  });

  it("createTestBus({ payloads }) validates like a bus with payloads", async () => {
    const bus = createTestBus({ payloads });
    await expect(
      bus.emitEvent({ event_type: "negotiation.round", payload: { round: 1, buyer_cpm: "9", seller_cpm: 1 } as never }),
    ).rejects.toThrow(/payload\.buyer_cpm/);
    expect(bus.emitted()).toEqual([]);
  });
});
