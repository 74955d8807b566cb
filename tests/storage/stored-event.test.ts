import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES, eventSchema } from "../../src/index.js";
import { parseStoredEvent } from "../../src/storage/index.js";

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary" }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ unit: "binary" }), tie("value"), { maxKeys: 3 }),
  ),
}));

/** Records as a store hands them back: built by JSON.parse of what some writer stored. */
const storedRecord = fc
  .record({
    event_id: fc.oneof(
      fc.uuid(),
      fc.uuid().map((id) => id.toUpperCase()),
    ),
    event_type: fc.oneof(
      { arbitrary: fc.constantFrom(...EVENT_TYPES), weight: 9 },
      { arbitrary: fc.string(), weight: 1 },
    ),
    timestamp: fc.oneof(
      fc
        .date({ noInvalidDate: true, min: new Date("0001-01-01"), max: new Date("9999-12-31") })
        .map((date) => date.toISOString()),
      fc.constant("2026-11-24T10:15:30.123456"),
      fc.constant("2026-02-30T00:00:00.000Z"),
    ),
    flow_id: fc.string({ unit: "binary", maxLength: 20 }),
    flow_type: fc.string({ maxLength: 20 }),
    proposal_id: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ minLength: 257, maxLength: 260 })),
    deal_id: fc.string({ maxLength: 20 }),
    session_id: fc.string({ maxLength: 20 }),
    payload: fc.dictionary(fc.string({ unit: "binary" }), json.value, { maxKeys: 4 }),
    metadata: fc.oneof(fc.dictionary(fc.string(), json.value, { maxKeys: 2 }), fc.constant([])),
  })
  .map((record) => JSON.stringify(record));

describe("parseStoredEvent", () => {
  it("accepts exactly what eventSchema accepts, returning the same deeply frozen event", () => {
    fc.assert(
      fc.property(storedRecord, (text) => {
        const schemaResult = eventSchema.safeParse(JSON.parse(text));
        if (!schemaResult.success) {
          expect(() => parseStoredEvent(JSON.parse(text), "record")).toThrow(/record does not hold a valid event/);
          return;
        }
        const event = parseStoredEvent(JSON.parse(text), "record");
        expect(event).toEqual({ ...schemaResult.data, event_id: schemaResult.data.event_id.toLowerCase() });
        expect(Object.isFrozen(event) && Object.isFrozen(event.payload) && Object.isFrozen(event.metadata)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("normalises a record written by the Python service", () => {
    const id = crypto.randomUUID();
    const event = parseStoredEvent(
      { event_id: id, event_type: "deal.synced", timestamp: "2026-11-24T10:15:30.123456", deal_id: "d-1" },
      "ad_seller:event:x",
    );
    expect(event).toMatchObject({ event_id: id, timestamp: "2026-11-24T10:15:30.123Z", flow_id: "", payload: {} });
  });

  it("names where the bad record came from and what is wrong", () => {
    expect(() => parseStoredEvent({ event_type: "nope" }, "row 7 of public.events")).toThrow(
      /row 7 of public\.events does not hold a valid event: event_id: .*event_type: "nope" is not an event type/,
    );
  });
});
