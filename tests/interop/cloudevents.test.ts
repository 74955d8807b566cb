import { CloudEvent, HTTP } from "cloudevents";
import { describe, expect, it } from "vitest";
import { type Event, EventBus, EventValidationError } from "../../src/index.js";
import {
  fromCloudEvent,
  fromCloudEventHttp,
  toCloudEvent,
  toCloudEventBatch,
  toCloudEventHttp,
} from "../../src/interop/index.js";

const SOURCE = "/seller/acme";

async function sampleEvents(): Promise<Event[]> {
  const bus = new EventBus();
  const events = [
    await bus.emitEvent({
      event_type: "deal.created",
      deal_id: "d-1",
      proposal_id: "p-1",
      session_id: 's 1 "quoted" 100% é',
      flow_id: "f-1",
      flow_type: "deal_sync",
      payload: { cpm: 12.5, tags: ["a", "b"], nested: { ok: true } },
      metadata: { agent: "seller-42", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    }),
    await bus.emitEvent({ event_type: "session.created" }),
  ];
  await bus.close();
  return events;
}

describe("toCloudEvent / fromCloudEvent", () => {
  it("maps the event to the CloudEvents attributes and back to the same event", async () => {
    const [event] = await sampleEvents();
    const cloudEvent = toCloudEvent(event as Event, { source: SOURCE });
    expect(cloudEvent).toMatchObject({
      specversion: "1.0",
      id: event?.event_id,
      source: SOURCE,
      type: "deal.created",
      time: event?.timestamp,
      subject: "d-1",
      datacontenttype: "application/json",
      data: event?.payload,
      dealid: "d-1",
      proposalid: "p-1",
      flowid: "f-1",
      flowtype: "deal_sync",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      metadata: '{"agent":"seller-42"}',
    });
    for (const name of Object.keys(cloudEvent)) expect(name).toMatch(/^[a-z0-9]{1,20}$/);
    expect(fromCloudEvent(JSON.parse(JSON.stringify(cloudEvent)))).toEqual(event);
  });

  it("leaves out the empty correlation ids and the subject of an event without any", async () => {
    const [, bare] = await sampleEvents();
    const cloudEvent = toCloudEvent(bare as Event, { source: SOURCE });
    expect(Object.keys(cloudEvent).sort()).toEqual([
      "data",
      "datacontenttype",
      "id",
      "source",
      "specversion",
      "time",
      "type",
    ]);
    expect(fromCloudEvent(cloudEvent)).toEqual(bare);
  });

  it("refuses bad CloudEvents naming the attribute", () => {
    const good = {
      specversion: "1.0",
      id: crypto.randomUUID(),
      source: SOURCE,
      type: "deal.created",
      time: "2026-11-24T10:15:30Z",
    };
    const refusal = (input: unknown) => {
      try {
        fromCloudEvent(input);
      } catch (error) {
        expect(error).toBeInstanceOf(EventValidationError);
        return (error as EventValidationError).issues[0]?.path.join(".");
      }
      throw new Error("accepted");
    };
    expect(refusal({ ...good, specversion: "0.3" })).toBe("specversion");
    expect(refusal({ ...good, id: "nope" })).toBe("id");
    expect(refusal({ ...good, type: "deal.deleted" })).toBe("type");
    expect(refusal({ ...good, time: "2026-11-24T10:15:30" })).toBe("time");
    expect(refusal({ ...good, data: [1, 2] })).toBe("data");
    expect(refusal({ ...good, datacontenttype: "text/plain" })).toBe("datacontenttype");
    expect(refusal({ ...good, dealid: 7 })).toBe("dealid");
    expect(refusal({ ...good, metadata: "[]" })).toBe("metadata");
    expect(refusal("a string")).toBe("");
    expect(fromCloudEvent({ ...good, time: "2026-11-24T12:15:30+02:00" }).timestamp).toBe("2026-11-24T10:15:30.000Z");
  });

  it("refuses a bad source and unknown options", async () => {
    const [event] = await sampleEvents();
    expect(() => toCloudEvent(event as Event, { source: "" })).toThrow(/source: must be a non-empty URI reference/);
    expect(() => toCloudEvent(event as Event, { source: SOURCE, sorce: "x" } as never)).toThrow(
      /did you mean "source"/,
    );
    expect(() => toCloudEventHttp(event as Event, { source: SOURCE, mode: "batch" as never })).toThrow(/mode: must be/);
    expect(() => toCloudEvent(undefined as never, { source: SOURCE })).toThrow(/event: toCloudEvent takes an Event/);
    expect(() => toCloudEventBatch([{ event_id: "x" }] as never, { source: SOURCE })).toThrow(EventValidationError);
  });
});

describe("HTTP modes, read by the official cloudevents SDK", () => {
  for (const mode of ["binary", "structured"] as const) {
    it(`${mode}: HTTP.toEvent reads what we write, and we read it back the same`, async () => {
      const [event] = await sampleEvents();
      const message = toCloudEventHttp(event as Event, { source: SOURCE, mode });
      const read = HTTP.toEvent({ headers: { ...message.headers }, body: message.body }) as CloudEvent<unknown>;
      expect(read.id).toBe(event?.event_id);
      expect(read.type).toBe("deal.created");
      expect(read.source).toBe(SOURCE);
      expect(read.time).toBe(event?.timestamp);
      expect(read.subject).toBe("d-1");
      expect(read.data).toEqual(event?.payload);
      // The HTTP binding percent-encodes space, '"', '%' and non-ASCII in ce- headers; SDK 10 hands the encoded text over.
      const sessionId = mode === "binary" ? decodeURIComponent(String(read.sessionid)) : read.sessionid;
      expect(sessionId).toBe(event?.session_id);
      expect(read.traceparent).toBe(event?.metadata.traceparent);
      expect(fromCloudEventHttp(message)).toEqual([event]);
      // And the SDK's own rendering of what it read comes back to the same event.
      const again = mode === "binary" ? HTTP.binary(read) : HTTP.structured(read);
      expect(
        fromCloudEventHttp({ headers: again.headers as Record<string, string>, body: String(again.body) }),
      ).toEqual([event]);
    });
  }

  it("reads an event the SDK wrote from scratch, in both modes", () => {
    const id = crypto.randomUUID();
    const written = new CloudEvent({
      id,
      source: "/buyer/agent",
      type: "proposal.received",
      time: "2026-11-24T10:15:30.000Z",
      datacontenttype: "application/json",
      data: { budget: 5000 },
      proposalid: "p-9",
      dealid: "d-9",
    });
    for (const message of [HTTP.binary(written), HTTP.structured(written)]) {
      const [event] = fromCloudEventHttp({
        headers: message.headers as Record<string, string>,
        body: String(message.body),
      });
      expect(event).toEqual({
        event_id: id,
        event_type: "proposal.received",
        timestamp: "2026-11-24T10:15:30.000Z",
        flow_id: "",
        flow_type: "",
        proposal_id: "p-9",
        deal_id: "d-9",
        session_id: "",
        payload: { budget: 5000 },
        metadata: {},
      });
    }
    expect(fromCloudEvent(written).proposal_id).toBe("p-9");
  });

  it("writes and reads batches, which the SDK reads too", async () => {
    const events = await sampleEvents();
    const message = toCloudEventBatch(events, { source: SOURCE });
    expect(message.headers["content-type"]).toMatch(/^application\/cloudevents-batch\+json/);
    expect(fromCloudEventHttp(message)).toEqual(events);
    const read = HTTP.toEvent({ headers: { ...message.headers }, body: message.body }) as CloudEvent<unknown>[];
    expect(read.map((cloudEvent) => cloudEvent.id)).toEqual(events.map((event) => event.event_id));
  });

  it("names the bad entry of a batch and refuses messages that are not CloudEvents", () => {
    const batch = JSON.stringify([
      { specversion: "1.0", id: crypto.randomUUID(), source: "/x", type: "deal.created", time: "2026-11-24" },
    ]);
    const headers = { "content-type": "application/cloudevents-batch+json" };
    expect(() => fromCloudEventHttp({ headers, body: batch })).toThrow(/\[0\]\.time|0\.time/);
    expect(() => fromCloudEventHttp({ headers: { "content-type": "application/json" }, body: "{}" })).toThrow(
      /ce-specversion/,
    );
    expect(() => fromCloudEventHttp({ headers, body: "{not json" })).toThrow(/body: is not JSON/);
    expect(() =>
      fromCloudEventHttp({ headers: new Headers({ "ce-specversion": "1.0", "ce-id": "%zz" }), body: "" }),
    ).toThrow(/ce-id/);
  });
});
