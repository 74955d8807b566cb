import { describe, expect, it } from "vitest";
import { type Event, EventBus, EventType, EventValidationError } from "../../src/index.js";
import { fromIabEvent, toIabEvent } from "../../src/interop/index.js";

async function emitted(inputs: Parameters<EventBus["emitEvent"]>[0][]): Promise<Event[]> {
  const bus = new EventBus();
  const events: Event[] = [];
  for (const input of inputs) events.push(await bus.emitEvent(input));
  await bus.close();
  return events;
}

function refusedField(input: unknown): string | undefined {
  try {
    fromIabEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(EventValidationError);
    return (error as EventValidationError).issues[0]?.path.join(".");
  }
  throw new Error("fromIabEvent accepted it");
}

describe("toIabEvent", () => {
  it("writes the canonical envelope: occurred_at, source_agent, nulls, flow and payload in metadata", async () => {
    const [event] = await emitted([
      {
        event_type: "deal.created",
        deal_id: "d-1",
        flow_id: "f-1",
        flow_type: "deal_sync",
        payload: { cpm: 12 },
        metadata: { agent: "seller-42" },
      },
    ]);
    expect(toIabEvent(event as Event)).toEqual({
      event_id: event?.event_id,
      event_type: "deal.created",
      occurred_at: event?.timestamp,
      source_agent: "seller",
      deal_id: "d-1",
      order_id: null,
      proposal_id: null,
      campaign_id: null,
      session_id: null,
      metadata: { agent: "seller-42", flow_id: "f-1", flow_type: "deal_sync", payload: { cpm: 12 } },
    });
  });

  it("refuses what is not an event", () => {
    expect(() => toIabEvent(null as never)).toThrow(/event: toIabEvent takes an Event/);
    expect(() => toIabEvent({ event_id: "x", event_type: "deal.created" } as never)).toThrow(EventValidationError);
  });

  it("renames approval.denied to approval.rejected, and only that type", async () => {
    const events = await emitted(Object.values(EventType).map((event_type) => ({ event_type })));
    const renamed = events.filter((event) => toIabEvent(event).event_type !== event.event_type);
    expect(renamed.map((event) => [event.event_type, toIabEvent(event).event_type])).toEqual([
      ["approval.denied", "approval.rejected"],
    ]);
  });

  it("round-trips every type, with and without ids, through JSON", async () => {
    const events = await emitted(
      Object.values(EventType).flatMap((event_type, index) => [
        { event_type },
        {
          event_type,
          deal_id: `d-${index}`,
          proposal_id: "p",
          session_id: "s",
          flow_id: "f",
          flow_type: "t",
          payload: { index, list: [1, { deep: null }] },
          metadata: { order_id: "o-1", campaign_id: "c-1", host: "h" },
        },
      ]),
    );
    for (const event of events) expect(fromIabEvent(JSON.parse(JSON.stringify(toIabEvent(event))))).toEqual(event);
    const nulls = { deal_id: null, order_id: null, proposal_id: null, campaign_id: null, session_id: null };
    expect(toIabEvent(events[0] as Event)).toMatchObject(nulls); // an event without ids: every id null, never ""
    const withIds = toIabEvent(events[1] as Event);
    expect([withIds.order_id, withIds.campaign_id]).toEqual(["o-1", "c-1"]);
    expect(withIds.metadata).not.toHaveProperty("order_id");
  });
});

describe("fromIabEvent", () => {
  const envelope = {
    event_id: "0b9c5bde-0d45-4a7f-9f5e-8a9a2f4c1d3e",
    event_type: "approval.rejected",
    occurred_at: "2026-11-24T12:15:30.5+02:00",
    source_agent: "buyer",
    deal_id: "d-7",
    order_id: "o-7",
    proposal_id: null,
    campaign_id: null,
    session_id: null,
    metadata: { flow_id: "f-7", payload: { reason: "over budget" }, note: "n" },
  };

  it("reads the buyer's envelope: alias, zone, nulls, ids it has no field for kept in metadata", () => {
    expect(fromIabEvent(envelope)).toEqual({
      event_id: envelope.event_id,
      event_type: "approval.denied",
      timestamp: "2026-11-24T10:15:30.500Z",
      flow_id: "f-7",
      flow_type: "",
      proposal_id: "",
      deal_id: "d-7",
      session_id: "",
      payload: { reason: "over budget" },
      metadata: { note: "n", order_id: "o-7", source_agent: "buyer" },
    });
    expect(toIabEvent(fromIabEvent(envelope))).toEqual({
      ...envelope,
      occurred_at: "2026-11-24T10:15:30.500Z",
      metadata: { note: "n", flow_id: "f-7", payload: { reason: "over budget" } },
    });
  });

  it("ignores unknown and x_ fields", () => {
    const extended = { ...envelope, schema_version: "0.5.1", x_vendor: { anything: true }, x_trace: "t" };
    expect(fromIabEvent(extended)).toEqual(fromIabEvent(envelope));
  });

  it("refuses a naive timestamp, a type outside the seller's, a bad source_agent and bad ids, naming the field", () => {
    expect(refusedField({ ...envelope, occurred_at: "2026-11-24T10:15:30.123456" })).toBe("occurred_at");
    expect(() => fromIabEvent({ ...envelope, occurred_at: "2026-11-24T10:15:30" })).toThrow(
      /occurred_at: has no time zone/,
    );
    expect(refusedField({ ...envelope, occurred_at: "tomorrow" })).toBe("occurred_at");
    expect(refusedField({ ...envelope, occurred_at: undefined })).toBe("occurred_at");
    expect(refusedField({ ...envelope, event_type: "campaign.launched" })).toBe("event_type");
    expect(refusedField({ ...envelope, source_agent: "publisher" })).toBe("source_agent");
    expect(refusedField({ ...envelope, source_agent: undefined })).toBe("source_agent");
    expect(refusedField({ ...envelope, deal_id: 42 })).toBe("deal_id");
    expect(refusedField({ ...envelope, order_id: {} })).toBe("order_id");
    expect(refusedField({ ...envelope, event_id: "e-1" })).toBe("event_id");
    expect(refusedField({ ...envelope, metadata: [] })).toBe("metadata");
    expect(refusedField({ ...envelope, metadata: { payload: "text" } })).toBe("metadata.payload");
    expect(refusedField(null)).toBe("");
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("boom");
        },
        getOwnPropertyDescriptor: () => {
          throw new Error("boom");
        },
      },
    );
    expect(() => fromIabEvent(hostile)).toThrow(EventValidationError);
    const getter = Object.defineProperty({}, "secret", {
      enumerable: true,
      get: () => {
        throw new Error("boom");
      },
    });
    expect(refusedField({ ...envelope, metadata: getter })).toBe("metadata");
  });
});
