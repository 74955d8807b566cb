import { describe, expect, it } from "vitest";
import { normalizeTimestamp } from "../../src/event/timestamp.js";
import { AUDIT_EVENT_TYPES, EVENT_TYPES, EventType, eventSchema, isEventType } from "../../src/index.js";

describe("EventType", () => {
  it("holds exactly the 22 types of the catalogue, keyed by their upper-snake names", () => {
    expect(EVENT_TYPES).toEqual([
      "proposal.received",
      "proposal.evaluated",
      "proposal.accepted",
      "proposal.rejected",
      "proposal.countered",
      "deal.created",
      "deal.registered",
      "deal.synced",
      "execution.completed",
      "approval.requested",
      "approval.granted",
      "approval.denied",
      "approval.timed_out",
      "session.created",
      "session.resumed",
      "session.closed",
      "package.created",
      "package.updated",
      "package.synced",
      "negotiation.started",
      "negotiation.round",
      "negotiation.concluded",
    ]);
    for (const [key, value] of Object.entries(EventType)) {
      expect(key).toBe(value.toUpperCase().replace(".", "_"));
    }
    expect(Object.isFrozen(EVENT_TYPES)).toBe(true);
  });

  it("marks money decisions and state transitions as audit types", () => {
    expect([...AUDIT_EVENT_TYPES].sort()).toEqual(
      EVENT_TYPES.filter(
        (type) =>
          ["proposal.accepted", "proposal.rejected", "proposal.countered", "execution.completed"].includes(type) ||
          /^(deal|approval|negotiation)\./.test(type),
      ).sort(),
    );
  });

  it("narrows unknown values with isEventType", () => {
    expect(isEventType("deal.synced")).toBe(true);
    expect(isEventType("deal.sync")).toBe(false);
    expect(isEventType(5)).toBe(false);
  });
});

describe("normalizeTimestamp", () => {
  it.each([
    ["2026-11-24T10:15:30.123Z", "2026-11-24T10:15:30.123Z"],
    ["2026-11-24T10:15:30.123456", "2026-11-24T10:15:30.123Z"],
    ["2026-11-24T10:15:30", "2026-11-24T10:15:30.000Z"],
    ["2026-11-24 10:15:30.5", "2026-11-24T10:15:30.500Z"],
    ["2026-11-24T12:15:30+02:00", "2026-11-24T10:15:30.000Z"],
    ["2026-11-24T05:15:30-0500", "2026-11-24T10:15:30.000Z"],
    ["2026-11-24T10:15:30.999999999z", "2026-11-24T10:15:30.999Z"],
    ["2026-11-24", "2026-11-24T00:00:00.000Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
    ["0099-01-01T00:00:00Z", "0099-01-01T00:00:00.000Z"],
  ])("normalises %s to %s", (input, expected) => {
    expect(normalizeTimestamp(input)).toBe(expected);
  });

  it.each([
    "yesterday",
    "",
    "2026-13-01T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-11-24T24:00:00Z",
    "2026-11-24T10:60:00Z",
    "2026-11-24T10:15:30+25:00",
    "1700000000",
    "2026-11-24T10:15:30.123Z trailing",
  ])("rejects %j", (input) => {
    expect(normalizeTimestamp(input)).toBeNull();
  });

  it("accepts valid Dates and refuses invalid ones and non-strings", () => {
    expect(normalizeTimestamp(new Date(0))).toBe("1970-01-01T00:00:00.000Z");
    expect(normalizeTimestamp(new Date(Number.NaN))).toBeNull();
    expect(normalizeTimestamp(1_700_000_000_000)).toBeNull();
  });
});

describe("eventSchema", () => {
  it("reads a record written by the Python service: naive timestamp, missing fields defaulted, extras dropped", () => {
    const id = crypto.randomUUID();
    const event = eventSchema.parse({
      event_id: id,
      event_type: "negotiation.round",
      timestamp: "2026-11-24T10:15:30.123456",
      session_id: "s-1",
      payload: { round: 2 },
      schema_version: 1,
    });
    expect(event).toEqual({
      event_id: id,
      event_type: "negotiation.round",
      timestamp: "2026-11-24T10:15:30.123Z",
      flow_id: "",
      flow_type: "",
      proposal_id: "",
      deal_id: "",
      session_id: "s-1",
      payload: { round: 2 },
      metadata: {},
    });
    expect(Object.isFrozen(event.payload)).toBe(true);
  });

  it("refuses a record without event_id or timestamp", () => {
    expect(eventSchema.safeParse({ event_type: "deal.created", timestamp: "2026-01-01T00:00:00Z" }).success).toBe(
      false,
    );
    expect(eventSchema.safeParse({ event_type: "deal.created", event_id: crypto.randomUUID() }).success).toBe(false);
  });
});
