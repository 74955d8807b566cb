import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeTimestamp } from "../../src/event/timestamp.js";
import { EVENT_TYPES, eventSchema } from "../../src/index.js";
import { parseStoredEvent } from "../../src/storage/index.js";
import { isWireText, readWireHeader, wireJson } from "../../src/storage/kit/stored-event.js";

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

describe("the wire-text checks", () => {
  const event = eventSchema.parse({
    event_id: crypto.randomUUID(),
    event_type: "deal.created",
    timestamp: "2026-12-02T10:00:00.000Z",
    deal_id: "d-1",
    payload: { a: [1, "}"] },
  });
  const withTimestamp = (timestamp: string) => wireJson({ ...event, timestamp });
  const pad = (value: number, width: number) => String(value).padStart(width, "0");

  it("take a timestamp exactly when normalizeTimestamp would keep it unchanged, leap days included", () => {
    // Every month and day 00-32 of years around each leap rule: divisible by 4, by 100 (not leap), by 400 (leap).
    const years = [0, 1, 4, 100, 400, 1600, 1700, 1896, 1900, 1904, 2000, 2023, 2024, 2026, 2100, 2400, 9996, 9999];
    let taken = 0;
    for (const year of years) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const timestamp = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T23:59:59.999Z`;
          const canonical = normalizeTimestamp(timestamp) === timestamp;
          const text = withTimestamp(timestamp);
          expect(isWireText(text), timestamp).toBe(canonical);
          expect(readWireHeader(text) !== undefined, timestamp).toBe(canonical);
          if (canonical) taken++;
        }
      }
    }
    expect(taken).toBe(
      years.length * 365 + years.filter((year) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)).length,
    );
  });

  it("agree with each other on texts the bus wrote and on texts it did not", () => {
    const good = wireJson(event);
    const texts = [
      good,
      good.replace('"deal.created"', '"deal.nope"'),
      good.replace(event.event_id, event.event_id.toUpperCase()),
      good.replace('"deal_id":"d-1"', '"deal_id": "d-1"'),
      good.replace(/T(\d\d)/, "T24"),
      good.replace(/\.\d{3}Z/, ".12Z"),
      `${good} `,
      good.slice(0, -2),
      JSON.stringify({ ...JSON.parse(good), timestamp: undefined }),
    ];
    expect(texts.map(isWireText)).toEqual([true, ...texts.slice(1).map(() => false)]);
    expect(texts.map((text) => readWireHeader(text) !== undefined)).toEqual(texts.map(isWireText));
    expect(readWireHeader(good)).toMatchObject({ event_type: "deal.created", deal_id: '"d-1"', flow_id: '""' });
  });
});
