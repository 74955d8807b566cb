import { describe, expect, it } from "vitest";
import { EventType } from "../../src/index.js";
import { createTestBus, EventExpectationError } from "../../src/testing/index.js";

async function counterOfferFlow(bus: ReturnType<typeof createTestBus>) {
  const flow = bus.scope({ flow_type: "proposal_handling", proposal_id: "p-1", session_id: "s-1" });
  await flow.emitEvent({ event_type: EventType.PROPOSAL_RECEIVED, payload: { budget: 50_000, cpm: 9 } });
  await flow.emitEvent({ event_type: EventType.PROPOSAL_EVALUATED, payload: { floor_cpm: 11 } });
  await flow.emitEvent({ event_type: EventType.PROPOSAL_COUNTERED, payload: { counter_cpm: 11, lines: [1, 2] } });
}

describe("createTestBus", () => {
  it("stamps deterministic ids and a clock that steps 1 ms per event and can be moved", async () => {
    const bus = createTestBus({ start: "2026-11-24T09:00:00Z" });
    const first = await bus.emitEvent({ event_type: "session.created" });
    bus.clock.advance(60_000);
    const second = await bus.emitEvent({ event_type: "session.closed" });
    bus.clock.set("2030-01-01T00:00:00Z");
    const third = await bus.emitEvent({ event_type: "session.resumed" });
    expect([first.event_id, second.event_id]).toEqual([
      "00000000-0000-4000-8000-000000000001",
      "00000000-0000-4000-8000-000000000002",
    ]);
    expect([first.timestamp, second.timestamp, third.timestamp]).toEqual([
      "2026-11-24T09:00:00.000Z",
      "2026-11-24T09:01:00.001Z",
      "2030-01-01T00:00:00.000Z",
    ]);
  });

  it("records emitted events and matches by type, group, fields and payload subsets", async () => {
    const bus = createTestBus();
    await counterOfferFlow(bus);
    expect(bus.emitted().map((event) => event.event_type)).toEqual([
      "proposal.received",
      "proposal.evaluated",
      "proposal.countered",
    ]);
    expect(bus.emitted("proposal.*")).toHaveLength(3);
    const counter = bus.expectEmitted({
      event_type: "proposal.countered",
      proposal_id: "p-1",
      payload: { counter_cpm: 11 },
    });
    expect(counter.payload).toEqual({ counter_cpm: 11, lines: [1, 2] });
    bus.expectNotEmitted("deal.*");
    expect(bus.expectEmittedTimes("proposal.*", 3)).toHaveLength(3);
    expect(
      bus.expectSequence(["proposal.received", { payload: { floor_cpm: 11 } }, "proposal.countered"]),
    ).toHaveLength(3);
  });

  it("fails expectEmitted with a message listing what was emitted instead", async () => {
    const bus = createTestBus();
    await counterOfferFlow(bus);
    let failure: unknown;
    try {
      bus.expectEmitted({ event_type: "proposal.accepted", proposal_id: "p-1" });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(EventExpectationError);
    const message = (failure as Error).message;
    expect(message).toContain('expected an event matching {"event_type":"proposal.accepted","proposal_id":"p-1"}');
    expect(message).toContain("none of the 3 emitted did");
    expect(message).toContain("3. proposal.countered flow_id=");
    expect(message).toContain('payload={"counter_cpm":11,"lines":[1,2]}');
  });

  it("fails on a payload that differs, an array of another length, a wrong count, or a wrong order", async () => {
    const bus = createTestBus();
    await counterOfferFlow(bus);
    expect(() => bus.expectEmitted({ payload: { counter_cpm: 12 } })).toThrow(EventExpectationError);
    expect(() => bus.expectEmitted({ payload: { lines: [1] } })).toThrow(EventExpectationError);
    expect(() => bus.expectNotEmitted("proposal.evaluated")).toThrow(
      /expected no event matching "proposal.evaluated", but 1 did/,
    );
    expect(() => bus.expectEmittedTimes("proposal.*", 2)).toThrow(/expected 2 events matching "proposal\.\*", got 3/);
    expect(() => bus.expectSequence(["proposal.countered", "proposal.received"])).toThrow(
      /step 2 of the sequence, "proposal.received" after "proposal.countered"/,
    );
  });

  it("says so when nothing was emitted at all", () => {
    const bus = createTestBus();
    expect(() => bus.expectEmitted("deal.created")).toThrow(/\(no events were emitted\)/);
  });

  it("collects listener errors instead of printing them", async () => {
    const bus = createTestBus();
    bus.subscribe("*", () => {
      throw new Error("listener broke");
    });
    await bus.emitEvent({ event_type: "deal.created" });
    expect(bus.listenerErrors).toEqual([new Error("listener broke")]);
  });

  it("passes onError to the bus: a consumer's failure on a test bus reaches it, listener errors stay recorded", async () => {
    const reports: { source: string; message: string; event_id: string | undefined }[] = [];
    const bus = createTestBus({
      onError: ({ source, error, event }) =>
        reports.push({ source, message: (error as Error).message, event_id: event?.event_id }),
    });
    bus.subscribe("*", () => {
      throw new Error("listener broke");
    });
    const consumer = bus.consume(
      "test-bus-on-error",
      () => {
        throw new Error("handler broke");
      },
      { retry: { attempts: 1 }, onFailure: "skip" },
    );
    const event = await bus.emitEvent({ event_type: "deal.created" });
    for (let tries = 0; tries < 200 && (await consumer.deadLetters()).length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await consumer.stop();
    expect(reports).toEqual([{ source: "consumer", message: "handler broke", event_id: event.event_id }]);
    expect(bus.listenerErrors).toEqual([new Error("listener broke")]);
  });

  it("refuses an unknown option, naming it", () => {
    expect(() => createTestBus({ onErrors: () => undefined } as never)).toThrow(/onErrors/);
  });
});
