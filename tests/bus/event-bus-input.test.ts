import { describe, expect, it } from "vitest";
import { type EmitEventInput, EventBus, EventValidationError, memoryStorage } from "../../src/index.js";

class Money {
  constructor(readonly cents: number) {}
}

const cyclic: Record<string, unknown> = { name: "loop" };
cyclic.self = cyclic;

/** [case name, input, path of the field the error must name]. */
const BAD_EMITS: readonly [string, unknown, string][] = [
  ["a misspelt event_type", { event_type: "deal.create" }, "event_type"],
  ["an unknown event_type", { event_type: "bid.placed" }, "event_type"],
  ["a missing event_type", { deal_id: "d-1" }, "event_type"],
  ["a numeric flow_id", { event_type: "deal.created", flow_id: 42 }, "flow_id"],
  ["a null session_id", { event_type: "deal.created", session_id: null }, "session_id"],
  ["an object deal_id", { event_type: "deal.created", deal_id: { id: 1 } }, "deal_id"],
  ["a proposal_id over 256 characters", { event_type: "deal.created", proposal_id: "p".repeat(257) }, "proposal_id"],
  ["a payload holding undefined", { event_type: "deal.created", payload: { cpm: undefined } }, "payload.cpm"],
  ["a payload holding a function", { event_type: "deal.created", payload: { price: () => 1 } }, "payload.price"],
  ["a payload holding NaN", { event_type: "deal.created", payload: { cpm: Number.NaN } }, "payload.cpm"],
  [
    "a payload holding Infinity",
    { event_type: "deal.created", payload: { cpm: Number.POSITIVE_INFINITY } },
    "payload.cpm",
  ],
  ["a payload holding a BigInt", { event_type: "deal.created", payload: { budget: 10n } }, "payload.budget"],
  ["a payload holding a Date", { event_type: "deal.created", payload: { at: new Date() } }, "payload.at"],
  [
    "a payload holding a class instance",
    { event_type: "deal.created", payload: { price: new Money(5) } },
    "payload.price",
  ],
  ["a payload holding a cycle", { event_type: "deal.created", payload: cyclic }, "payload.self"],
  [
    "a payload holding a 1 MB string",
    { event_type: "deal.created", payload: { blob: "x".repeat(1 << 20) } },
    "payload",
  ],
  ["metadata that is an array", { event_type: "deal.created", metadata: [1, 2] }, "metadata"],
  [
    "a payload nested in an array with undefined",
    { event_type: "deal.created", payload: { a: [1, undefined] } },
    "payload.a[1]",
  ],
  [
    "a NUL character in a payload string",
    { event_type: "deal.created", payload: { note: "a\u0000b" } },
    "payload.note",
  ],
  ["a malformed event_id", { event_type: "deal.created", event_id: "not-a-uuid" }, "event_id"],
  ["a timestamp that is not ISO-8601", { event_type: "deal.created", timestamp: "yesterday" }, "timestamp"],
  ["an impossible date", { event_type: "deal.created", timestamp: "2026-02-30T00:00:00Z" }, "timestamp"],
  ["a misspelt field name", { event_type: "deal.created", sesion_id: "s-1" }, "sesion_id"],
];

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("emitEvent with bad input", () => {
  it.each(BAD_EMITS)(
    "rejects %s with an EventValidationError naming the field, and stores nothing",
    async (_, input, path) => {
      const bus = new EventBus();
      const error = await rejection(bus.emitEvent(input as EmitEventInput));
      expect(error).toBeInstanceOf(EventValidationError);
      const issuePaths = (error as EventValidationError).issues.map((issue) =>
        issue.path.reduce<string>(
          (text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${key}` : key),
          "",
        ),
      );
      expect(issuePaths).toContain(path);
      expect(messageOf(error)).toContain(path.split(/[.[]/)[0]);
      expect(await bus.listEvents({ limit: 1000 })).toEqual([]);
    },
  );

  it("suggests the closest event type when the type is unknown, without listing all 22", async () => {
    const error = await rejection(new EventBus().emitEvent({ event_type: "deal.create" } as unknown as EmitEventInput));
    expect(messageOf(error)).toBe(
      '[ad-seller-events] event_type: "deal.create" is not an event type; did you mean "deal.created"?',
    );
    const far = await rejection(new EventBus().emitEvent({ event_type: "zzz" } as unknown as EmitEventInput));
    expect(messageOf(far)).toContain('"zzz" is not an event type; use one of EVENT_TYPES');
    expect(messageOf(far)).not.toContain("negotiation.concluded");
  });

  it("reports every bad field at once", async () => {
    const input = { event_type: "nope", flow_id: 1, payload: { a: Number.NaN, b: () => 0 } };
    const error = (await rejection(
      new EventBus().emitEvent(input as unknown as EmitEventInput),
    )) as EventValidationError;
    expect(error.issues.map((issue) => issue.path.join("."))).toEqual(
      expect.arrayContaining(["event_type", "flow_id", "payload.a", "payload.b"]),
    );
  });

  it("rejects input that is not an object", async () => {
    for (const input of [undefined, null, "deal.created", 7]) {
      const error = await rejection(new EventBus().emitEvent(input as unknown as EmitEventInput));
      expect(error).toBeInstanceOf(EventValidationError);
      expect(messageOf(error)).toContain("emitEvent takes an object");
    }
  });

  it("accepts a payload exactly at the size cap and rejects one byte over", async () => {
    const bus = new EventBus({ maxPayloadBytes: 100 });
    const fits = { s: "x".repeat(100 - '{"s":""}'.length) };
    await expect(bus.emitEvent({ event_type: "deal.created", payload: fits })).resolves.toMatchObject({
      payload: fits,
    });
    const error = await rejection(bus.emitEvent({ event_type: "deal.created", payload: { s: `${fits.s}x` } }));
    expect(messageOf(error)).toContain("payload: is more than 100 bytes as JSON, over the limit of 100 bytes");
    // Past the cheap bound the size is measured exactly: a string of escapes can be over although short.
    const escapes = { s: "\u0001".repeat(20) };
    const escaped = await rejection(bus.emitEvent({ event_type: "deal.created", payload: escapes }));
    expect(messageOf(escaped)).toContain("payload: is 128 bytes as JSON, over the limit of 100 bytes");
  });
});

describe("listEvents with bad input", () => {
  const cases: readonly [string, Record<string, unknown>, string][] = [
    ["limit 0", { limit: 0 }, "limit"],
    ["limit -1", { limit: -1 }, "limit"],
    ["limit 1.5", { limit: 1.5 }, "limit"],
    ["limit 1001", { limit: 1001 }, "limit"],
    ['limit "50"', { limit: "50" }, "limit"],
    ["both cursors", { after: crypto.randomUUID(), before: crypto.randomUUID() }, "before"],
    ["an unknown cursor id", { after: crypto.randomUUID() }, "after"],
    ["a cursor that is not an id", { before: "last-page" }, "before"],
    ["since that is not a timestamp", { since: "yesterday" }, "since"],
    ["until that is a number", { until: 1_700_000_000 }, "until"],
    ["an unknown event_type", { event_type: "deal.create" }, "event_type"],
    ["an empty event_type list", { event_type: [] }, "event_type"],
    ["a numeric session_id", { session_id: 5 }, "session_id"],
    ["an unknown query field", { sesion_id: "s-1" }, "sesion_id"],
  ];

  it.each(cases)("rejects %s with an EventValidationError naming the field", async (_, query, field) => {
    const bus = new EventBus();
    await bus.emitEvent({ event_type: "deal.created" });
    const error = await rejection(bus.listEvents(query));
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path[0])).toContain(field);
    expect(messageOf(error)).toContain(field);
  });

  it("names the allowed range of limit", async () => {
    const error = await rejection(new EventBus().listEvents({ limit: 0 }));
    expect(messageOf(error)).toContain("must be an integer from 1 to 1000, got 0");
  });
});

describe("getEvent with bad input", () => {
  it.each([
    ["an empty string", ""],
    ["a non-UUID", "event-1"],
    ["undefined", undefined],
    ["a number", 42],
    ["a UUID with a trailing newline", `${crypto.randomUUID()}\n`],
  ])("answers null for %s", async (_, id) => {
    const bus = new EventBus({ storage: memoryStorage() });
    await bus.emitEvent({ event_type: "deal.created" });
    expect(await bus.getEvent(id as string)).toBeNull();
  });
});
