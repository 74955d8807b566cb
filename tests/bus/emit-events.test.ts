import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  type Event,
  EventBus,
  EventConflictError,
  type EventStorage,
  EventValidationError,
  memoryStorage,
  StorageError,
} from "../../src/index.js";

/** Memory storage that records every append call and can be told to fail. */
function recordingStorage() {
  const inner = memoryStorage();
  const appends: (readonly Event[])[] = [];
  let failing = false;
  const storage: EventStorage = {
    name: "recording",
    append(events) {
      appends.push(events);
      return failing ? Promise.reject(new Error("disk full")) : inner.append(events);
    },
    get: (id) => inner.get(id),
    list: (query) => inner.list(query),
    close: () => inner.close(),
  };
  return { storage, appends, fail: () => (failing = true) };
}

const ID_A = "6f9619ff-8b86-4d11-b42d-00c04fc964ff";
const ID_B = "7f9619ff-8b86-4d11-b42d-00c04fc964ff";

describe("emitEvents", () => {
  it("stores the batch in one append, resolves in input order, then notifies in order", async () => {
    const { storage, appends } = recordingStorage();
    const bus = new EventBus({ storage });
    const seen: string[] = [];
    bus.subscribe("*", (event) => {
      seen.push(`${event.event_type}:${appends.length}`);
    });
    const events = await bus.emitEvents([
      { event_type: "negotiation.started", session_id: "s" },
      { event_type: "negotiation.round", session_id: "s", payload: { round: 1 } },
      { event_type: "negotiation.concluded", session_id: "s" },
    ]);
    expect(appends).toHaveLength(1);
    expect(appends[0]).toEqual(events);
    expect(events.map((event) => event.event_type)).toEqual([
      "negotiation.started",
      "negotiation.round",
      "negotiation.concluded",
    ]);
    expect(seen).toEqual(["negotiation.started:1", "negotiation.round:1", "negotiation.concluded:1"]);
    expect((await bus.listEvents({ session_id: "s" })).map((event) => event.event_id)).toEqual(
      events.map((event) => event.event_id),
    );
  });

  it("validates every input before storing any, naming [index].field", async () => {
    const { storage, appends } = recordingStorage();
    const bus = new EventBus({ storage, payloads: { "negotiation.round": z.object({ round: z.number() }) } });
    const error = await bus
      .emitEvents([
        { event_type: "session.created" },
        { event_type: "negotiation.round", payload: { round: "one" } as never },
        { event_type: "deal.create" as never },
      ])
      .catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path.join("."))).toEqual([
      "1.payload.round",
      "2.event_type",
    ]);
    expect((error as Error).message).toContain("[1].payload.round: ");
    expect(appends).toEqual([]);
    expect(await bus.listEvents()).toEqual([]);
  });

  it("is all or nothing when the store fails, and notifies nobody", async () => {
    const { storage, fail } = recordingStorage();
    const bus = new EventBus({ storage });
    const seen: unknown[] = [];
    bus.subscribe("*", (event) => {
      seen.push(event);
    });
    fail();
    await expect(bus.emitEvents([{ event_type: "deal.created" }, { event_type: "deal.synced" }])).rejects.toThrow(
      StorageError,
    );
    expect(seen).toEqual([]);
  });

  it("answers an identical retry with the stored event and rejects different content as a conflict", async () => {
    const bus = new EventBus();
    const [first] = await bus.emitEvents([{ event_id: ID_A, event_type: "deal.created", deal_id: "d-1" }]);
    const [again, fresh] = await bus.emitEvents([
      { event_id: ID_A, event_type: "deal.created", deal_id: "d-1" },
      { event_type: "deal.synced", deal_id: "d-1" },
    ]);
    expect(again).toBe(first);
    expect(fresh?.event_type).toBe("deal.synced");
    const seen: string[] = [];
    bus.subscribe("*", (event) => {
      seen.push(event.event_id);
    });
    const conflict = bus.emitEvents([
      { event_id: ID_B, event_type: "deal.registered", deal_id: "d-1" },
      { event_id: ID_A, event_type: "deal.created", deal_id: "d-2" },
    ]);
    await expect(conflict).rejects.toThrow(EventConflictError);
    // The new event of that batch is stored and was delivered; the conflicting one left the stored event alone.
    expect(seen).toEqual([ID_B]);
    expect((await bus.getEvent(ID_A))?.deal_id).toBe("d-1");
  });

  it("treats an id given twice in one batch as a retry when identical, and refuses it otherwise", async () => {
    const { storage, appends } = recordingStorage();
    const bus = new EventBus({ storage });
    const [one, two] = await bus.emitEvents([
      { event_id: ID_A, event_type: "deal.created" },
      { event_id: ID_A, event_type: "deal.created" },
    ]);
    expect(two).toBe(one);
    expect(appends[0]).toHaveLength(1);
    await expect(
      bus.emitEvents([
        { event_id: ID_B, event_type: "deal.created" },
        { event_id: ID_B, event_type: "deal.synced" },
      ]),
    ).rejects.toThrow(/\[1\]\.event_id: repeats the event_id of \[0\] with different event_type/);
    expect(await bus.getEvent(ID_B)).toBeNull();
  });

  it("resolves an empty batch without touching storage, and refuses what is not an array", async () => {
    const { storage, appends } = recordingStorage();
    const bus = new EventBus({ storage });
    expect(await bus.emitEvents([])).toEqual([]);
    expect(appends).toEqual([]);
    await expect(bus.emitEvents({} as never)).rejects.toThrow(/emitEvents takes an array/);
  });

  it("binds a scope's fields on every event of scope.emitEvents, the input's own fields winning", async () => {
    const bus = new EventBus();
    const flow = bus.scope({ flow_type: "proposal_handling", session_id: "s-1" });
    const events = await flow.emitEvents([
      { event_type: "negotiation.started" },
      { event_type: "negotiation.round", session_id: "s-2", payload: { round: 1 } },
    ]);
    expect(events.map((event) => [event.flow_id, event.flow_type, event.session_id])).toEqual([
      [flow.context.flow_id, "proposal_handling", "s-1"],
      [flow.context.flow_id, "proposal_handling", "s-2"],
    ]);
    await expect(flow.emitEvents([{ event_type: "deal.create" as never }])).rejects.toThrow(/\[0\]\.event_type/);
  });
});
