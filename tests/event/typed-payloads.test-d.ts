import {
  type Event,
  EventBus,
  type EventOf,
  type EventType,
  type JsonObject,
  type PayloadSchemas,
} from "ad-seller-events";
import { createEventsFetchHandler, createEventsHandler } from "ad-seller-events/http";
import { createTestBus } from "ad-seller-events/testing";
import { describe, expectTypeOf, it } from "vitest";
import * as z from "zod";
import type { TypesMatching } from "../../src/event/event-type.js";

const payloads = {
  "negotiation.round": z.object({ round: z.number().int().positive(), buyer_cpm: z.number(), seller_cpm: z.number() }),
  "deal.created": z.object({ cpm: z.number(), currency: z.string().length(3) }),
} satisfies PayloadSchemas;

type Round = { readonly round: number; readonly buyer_cpm: number; readonly seller_cpm: number };
type DealCreated = { readonly cpm: number; readonly currency: string };

describe("typed payloads", () => {
  const bus = new EventBus({ payloads });

  it("infers the catalogue from the payloads option", () => {
    expectTypeOf(bus).toEqualTypeOf<EventBus<typeof payloads>>();
  });

  it("types what emitEvent returns by the schema's output", async () => {
    const round = await bus.emitEvent({
      event_type: "negotiation.round",
      payload: { round: 2, buyer_cpm: 9, seller_cpm: 11 },
    });
    expectTypeOf(round).toEqualTypeOf<Event<"negotiation.round", Round>>();
    expectTypeOf(round.payload.round).toEqualTypeOf<number>();
  });

  it("refuses a payload that does not fit the schema at compile time", () => {
    // @ts-expect-error round must be a number
    void bus.emitEvent({ event_type: "negotiation.round", payload: { round: "2", buyer_cpm: 9, seller_cpm: 11 } });
    // @ts-expect-error currency is missing
    void bus.emitEvent({ event_type: "deal.created", payload: { cpm: 9 } });
    // @ts-expect-error a misspelt field of the input is refused too
    void bus.emitEvent({ event_type: "deal.created", payload: { cpm: 9, currency: "EUR" }, sesion_id: "s" });
  });

  it("keeps JsonObject for types without a schema", async () => {
    const synced = await bus.emitEvent({ event_type: "deal.synced", payload: { anything: [1, "two"] } });
    expectTypeOf(synced).toEqualTypeOf<Event<"deal.synced">>();
    expectTypeOf(synced.payload).toEqualTypeOf<JsonObject>();
  });

  it("narrows listEvents by a literal type, a pattern, or an array of them", async () => {
    expectTypeOf(await bus.listEvents({ event_type: "negotiation.round" })).toEqualTypeOf<
      Event<"negotiation.round", Round>[]
    >();
    const deals = await bus.listEvents({ event_type: "deal.*", limit: 10 });
    expectTypeOf(deals).toEqualTypeOf<
      (Event<"deal.created", DealCreated> | Event<"deal.registered" | "deal.synced">)[]
    >();
    const mixed = await bus.listEvents({ event_type: ["negotiation.round", "session.*"] });
    expectTypeOf(mixed).toEqualTypeOf<
      (Event<"negotiation.round", Round> | Event<"session.created" | "session.resumed" | "session.closed">)[]
    >();
    const page = await bus.listEventsPage({ event_type: "deal.created" });
    expectTypeOf(page.events).toEqualTypeOf<Event<"deal.created", DealCreated>[]>();
  });

  it("gives getEvent the union, discriminated by event_type", async () => {
    const event = await bus.getEvent("x");
    expectTypeOf(event).toEqualTypeOf<EventOf<typeof payloads> | null>();
    if (event?.event_type === "negotiation.round") expectTypeOf(event.payload).toEqualTypeOf<Round>();
    if (event?.event_type === "proposal.received") expectTypeOf(event.payload).toEqualTypeOf<JsonObject>();
  });

  it("narrows subscribe by pattern", () => {
    bus.subscribe("deal.*", (event) => {
      expectTypeOf(event.event_type).toEqualTypeOf<"deal.created" | "deal.registered" | "deal.synced">();
      if (event.event_type === "deal.created") expectTypeOf(event.payload.currency).toEqualTypeOf<string>();
    });
    bus.subscribe("negotiation.round", (event) => {
      expectTypeOf(event.payload).toEqualTypeOf<Round>();
    });
  });

  it("types each event of emitEvents", async () => {
    const [round, synced] = await bus.emitEvents([
      { event_type: "negotiation.round", payload: { round: 1, buyer_cpm: 9, seller_cpm: 12 } },
      { event_type: "deal.synced" },
    ]);
    expectTypeOf(round).toEqualTypeOf<Event<"negotiation.round", Round>>();
    expectTypeOf(synced).toEqualTypeOf<Event<"deal.synced">>();
    // @ts-expect-error the second payload does not fit its schema
    void bus.emitEvents([{ event_type: "deal.synced" }, { event_type: "deal.created", payload: { cpm: "x" } }]);
  });

  it("types scopes and parsePayload", async () => {
    const scoped = await bus.scope({ flow_type: "f" }).emitEvent({
      event_type: "deal.created",
      payload: { cpm: 1, currency: "EUR" },
    });
    expectTypeOf(scoped.payload).toEqualTypeOf<DealCreated>();
    const [batched] = await bus
      .scope({})
      .emitEvents([{ event_type: "deal.created", payload: { cpm: 1, currency: "EUR" } }]);
    expectTypeOf(batched.payload).toEqualTypeOf<DealCreated>();
    expectTypeOf(bus.parsePayload("negotiation.round", {})).toEqualTypeOf<Round>();
    expectTypeOf(bus.parsePayload("session.closed", {})).toEqualTypeOf<JsonObject>();
  });

  it("refuses a payloads key that is not an event type", () => {
    // @ts-expect-error "deal.create" is not an event type
    new EventBus({ payloads: { "deal.create": z.object({}) } });
  });
});

describe("patterns narrow without schemas", () => {
  const bus = new EventBus();

  it("keeps plain Event for an untyped bus", async () => {
    expectTypeOf(bus).toEqualTypeOf<EventBus>();
    expectTypeOf(await bus.getEvent("x")).toEqualTypeOf<Event | null>();
    expectTypeOf(await bus.listEvents({ session_id: "s" })).toEqualTypeOf<Event[]>();
    const filter: EventType = "deal.created" as EventType;
    expectTypeOf(await bus.listEvents({ event_type: filter })).toEqualTypeOf<Event[]>();
  });

  it("narrows subscribe and listEvents to the group", async () => {
    bus.subscribe("deal.*", (event) => {
      expectTypeOf(event).toEqualTypeOf<Event<TypesMatching<"deal.*">>>();
    });
    expectTypeOf(await bus.listEvents({ event_type: "approval.*" })).toEqualTypeOf<
      Event<"approval.requested" | "approval.granted" | "approval.denied" | "approval.timed_out">[]
    >();
  });
});

describe("createTestBus({ payloads })", () => {
  it("carries the catalogue's types", async () => {
    const bus = createTestBus({ payloads });
    const round = await bus.emitEvent({
      event_type: "negotiation.round",
      payload: { round: 1, buyer_cpm: 9, seller_cpm: 12 },
    });
    expectTypeOf(round.payload).toEqualTypeOf<Round>();
    // @ts-expect-error buyer_cpm must be a number
    void bus.emitEvent({ event_type: "negotiation.round", payload: { round: 1, buyer_cpm: "9", seller_cpm: 12 } });
    expectTypeOf(bus.expectEmitted("negotiation.round").payload).toEqualTypeOf<Round>();
  });
});

describe("a typed bus where an EventBus is taken", () => {
  it("mounts on the HTTP handlers and passes as a plain EventBus", () => {
    const bus = new EventBus({ payloads });
    expectTypeOf(createEventsHandler).toBeCallableWith(bus);
    expectTypeOf(createEventsFetchHandler).toBeCallableWith(createTestBus({ payloads }));
    const plain: EventBus = bus;
    expectTypeOf(plain).toEqualTypeOf<EventBus>();
  });
});

describe("typed live delivery and consumers", () => {
  const bus = new EventBus({ payloads });

  it("types what tail yields by its event_type filter, patterns included", async () => {
    for await (const event of bus.tail({ event_type: "negotiation.round" })) {
      expectTypeOf(event).toEqualTypeOf<Event<"negotiation.round", Round>>();
      break;
    }
    for await (const event of bus.tail({ event_type: "deal.*" })) {
      expectTypeOf(event.event_type).toEqualTypeOf<"deal.created" | "deal.registered" | "deal.synced">();
      break;
    }
  });

  it("types the batches a consumer's handler gets by its query's event_type", () => {
    bus.consume(
      "rounds",
      async (events) => {
        expectTypeOf(events).toEqualTypeOf<readonly Event<"negotiation.round", Round>[]>();
      },
      { query: { event_type: "negotiation.round" } },
    );
    bus.consume("everything", async (events) => {
      expectTypeOf(events).toEqualTypeOf<readonly EventOf<typeof payloads>[]>();
    });
  });
});
