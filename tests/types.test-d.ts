import { describe, expectTypeOf, it } from "vitest";
import { type EmitEventInput, type Event, EventBus, EventType, type EventTypePattern } from "../src/index.js";

describe("public types", () => {
  const bus = new EventBus();

  it("accepts EventType members and their string literals alike", () => {
    expectTypeOf<typeof EventType.DEAL_CREATED>().toEqualTypeOf<"deal.created">();
    expectTypeOf<"deal.created">().toExtend<EventType>();
    expectTypeOf(bus.emitEvent).toBeCallableWith({ event_type: EventType.DEAL_CREATED });
    expectTypeOf(bus.emitEvent).toBeCallableWith({ event_type: "deal.created" });
    expectTypeOf(bus.listEvents).toBeCallableWith({ event_type: ["deal.created", EventType.DEAL_SYNCED] });
  });

  it("rejects a misspelt type at compile time", () => {
    // @ts-expect-error "deal.create" is not an EventType
    const input: EmitEventInput = { event_type: "deal.create" };
    // @ts-expect-error "deals.*" is not a group pattern
    const pattern: EventTypePattern = "deals.*";
    expectTypeOf(input).toEqualTypeOf<EmitEventInput>();
    expectTypeOf(pattern).toEqualTypeOf<EventTypePattern>();
    expectTypeOf<"negotiation.*">().toExtend<EventTypePattern>();
  });

  it("makes Event readonly, payload included", () => {
    expectTypeOf<Event["event_type"]>().toEqualTypeOf<EventType>();
    expectTypeOf<Event["timestamp"]>().toEqualTypeOf<string>();
    const event = {} as Event;
    // @ts-expect-error event fields are readonly
    event.deal_id = "changed";
    // @ts-expect-error payload is readonly too
    event.payload.cpm = 3;
  });

  it("types what the bus returns", () => {
    expectTypeOf(bus.emitEvent({ event_type: "session.created" })).resolves.toEqualTypeOf<Event<"session.created">>();
    expectTypeOf(bus.getEvent("x")).resolves.toEqualTypeOf<Event | null>();
    expectTypeOf(bus.listEvents()).resolves.toEqualTypeOf<Event[]>();
    expectTypeOf(bus.subscribe("deal.*", () => {})).toEqualTypeOf<() => void>();
  });
});
