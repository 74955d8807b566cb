import { describe, expect, it } from "vitest";
import type { WireEvent } from "../../../src/http/viewer/client/api.js";
import { roundSeries } from "../../../src/http/viewer/client/timeline-chart.js";
import { apiQuery, filterLink, readState, sameFilters, searchOf } from "../../../src/http/viewer/client/url-state.js";
import type { JsonObject } from "../../../src/index.js";

const round = (payload: JsonObject): WireEvent => ({
  event_id: "00000000-0000-4000-8000-000000000001",
  event_type: "negotiation.round",
  timestamp: "2026-11-24T10:00:00.000Z",
  flow_id: "",
  flow_type: "",
  proposal_id: "",
  deal_id: "",
  session_id: "s-1",
  payload,
  metadata: {},
});

describe("the page's URL state", () => {
  it("round-trips every filter and the open event, leaving empty ones out", () => {
    const state = readState("?group=deal&session_id=s%201&since=2026-11-24T10%3A00%3A00Z&event=abc&unknown=1");
    expect(state.filters).toEqual({
      group: "deal",
      event_type: "",
      session_id: "s 1",
      flow_id: "",
      proposal_id: "",
      deal_id: "",
      since: "2026-11-24T10:00:00Z",
      until: "",
      q: "",
    });
    expect(state.event).toBe("abc");
    expect(readState(searchOf(state))).toEqual(state);
    expect(searchOf(readState(""))).toBe("");
    expect(sameFilters(state.filters, readState(searchOf({ ...state, event: "" })).filters)).toBe(true);
  });

  it("sends a type group as its types, and a chosen type instead of its group", () => {
    const group = apiQuery(readState("?group=negotiation&deal_id=d-1").filters);
    expect(group.get("event_type")).toBe("negotiation.started,negotiation.round,negotiation.concluded");
    expect(group.get("deal_id")).toBe("d-1");
    expect(group.has("group")).toBe(false);
    const type = apiQuery(readState("?group=negotiation&event_type=negotiation.round").filters);
    expect(type.getAll("event_type")).toEqual(["negotiation.round"]);
  });

  it("builds filter links as query strings, encoding the value", () => {
    expect(filterLink("session_id", "a&b=<c>")).toBe("?session_id=a%26b%3D%3Cc%3E");
  });
});

describe("the chart's series", () => {
  it("has one value per round for each numeric top-level field, except round itself", () => {
    const series = roundSeries([
      round({ round: 1, buyer_cpm: 8, seller_cpm: 14, note: "x" }),
      round({ round: 2, buyer_cpm: 9, nested: { cpm: 3 } }),
      round({ round: 3, buyer_cpm: "10", seller_cpm: 12 }),
    ]);
    expect(series).toEqual([
      { field: "buyer_cpm", values: [8, 9, null] },
      { field: "seller_cpm", values: [14, null, 12] },
    ]);
  });

  it("is empty when no round holds a number", () => {
    expect(roundSeries([round({ round: 1, note: "none" })])).toEqual([]);
  });
});
