import { EventConflictError } from "../../errors/error-classes.js";
import type { EmitEventInput } from "../../event/event.js";
import { type ConformanceExpect, type ConformanceIt, idsOf, rejectionOf } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

/** The stored original every conflict case starts from: every field set, nested JSON in payload and metadata. */
const ORIGINAL = {
  event_type: "proposal.countered",
  timestamp: "2026-04-01T08:30:00.250Z",
  flow_id: "flow-c",
  flow_type: "proposal_handling",
  proposal_id: "proposal-c",
  deal_id: "deal-c",
  session_id: "session-c",
  payload: { counter_cpm: 11.5, lines: [{ sku: "banner", floors: [1, 2] }], note: "ü🚀", big: 9007199254740991 },
  metadata: { agent: "seller-7", tags: ["a", "b"], build: { sha: "abc", n: 1 } },
} as const satisfies Omit<EmitEventInput, "event_id">;

/** One retry per field that differs from {@link ORIGINAL} in that field alone (and in nothing else). */
const ONE_FIELD_CHANGES: readonly [string, Partial<EmitEventInput>][] = [
  ["event_type", { event_type: "proposal.accepted" }],
  ["timestamp", { timestamp: "2026-04-01T08:30:00.251Z" }],
  ["flow_id", { flow_id: "flow-d" }],
  ["flow_type", { flow_type: "deal_sync" }],
  ["proposal_id", { proposal_id: "" }],
  ["deal_id", { deal_id: "deal-d" }],
  ["session_id", { session_id: "session-d" }],
  // A nested value, an array order and an added key: each is a different payload, however deep.
  ["payload", { payload: { ...ORIGINAL.payload, lines: [{ sku: "banner", floors: [1, 3] }] } }],
  ["payload", { payload: { ...ORIGINAL.payload, lines: [{ sku: "banner", floors: [2, 1] }] } }],
  ["payload", { payload: { ...ORIGINAL.payload, extra: null } }],
  ["payload", { payload: { ...ORIGINAL.payload, big: 9007199254740990 } }],
  ["metadata", { metadata: { ...ORIGINAL.metadata, build: { sha: "abd", n: 1 } } }],
  ["metadata", { metadata: { agent: "seller-7", tags: ["a", "b"] } }],
];

/**
 * Conflict rules of a retried `event_id`, as the bus applies them to what the store reports as already stored: a
 * retry that differs in any one field is an `EventConflictError` naming exactly that field, and a retry with the same
 * content (keys in another order, as `jsonb` reorders them) returns the stored event. A store that reports something
 * other than what it stored (the incoming event, a re-serialised payload that lost a digit) fails here.
 */
export function defineConflictConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
): void {
  it(
    "rejects a retry that differs in any single field with a conflict naming exactly that field",
    async () => {
      await withStore(async ({ bus }) => {
        for (const [field, change] of ONE_FIELD_CHANGES) {
          const event_id = crypto.randomUUID();
          const first = await bus.emitEvent({ ...ORIGINAL, event_id });
          const error = await rejectionOf(bus.emitEvent({ ...ORIGINAL, event_id, ...change }));
          expect(error, `a retry changing ${field} only`).toBeInstanceOf(EventConflictError);
          expect((error as EventConflictError).differingFields, `a retry changing ${field} only`).toEqual([field]);
          expect(await bus.getEvent(event_id)).toEqual(first);
        }
        expect(await bus.listEvents({ flow_id: "flow-d" })).toEqual([]);
        expect(await bus.listEvents({ limit: 1000 })).toHaveLength(ONE_FIELD_CHANGES.length);
      });
    },
    timeout,
  );

  it(
    "treats a retry with the same content as identical: keys reordered at every depth, no timestamp given",
    async () => {
      await withStore(async ({ bus }) => {
        const event_id = crypto.randomUUID();
        const first = await bus.emitEvent({ ...ORIGINAL, event_id });
        const reordered = {
          big: 9007199254740991,
          note: "ü🚀",
          lines: [{ floors: [1, 2], sku: "banner" }],
          counter_cpm: 11.5,
        };
        const metadata = { build: { n: 1, sha: "abc" }, tags: ["a", "b"], agent: "seller-7" };
        expect(await bus.emitEvent({ ...ORIGINAL, event_id, payload: reordered, metadata })).toEqual(first);
        // The caller gave no timestamp this time: the bus clock's stamp is not compared.
        const { timestamp: _given, ...withoutTimestamp } = ORIGINAL;
        expect(await bus.emitEvent({ ...withoutTimestamp, event_id })).toEqual(first);
        expect(idsOf(await bus.listEvents())).toEqual([event_id]);
      });
    },
    timeout,
  );

  it(
    "names every differing field when a retry differs in several",
    async () => {
      await withStore(async ({ bus }) => {
        const event_id = crypto.randomUUID();
        await bus.emitEvent({ ...ORIGINAL, event_id });
        const retry = { ...ORIGINAL, event_id, deal_id: "deal-x", payload: {}, metadata: { agent: "other" } };
        const error = await rejectionOf(bus.emitEvent(retry));
        expect(error).toBeInstanceOf(EventConflictError);
        expect([...(error as EventConflictError).differingFields].sort()).toEqual(["deal_id", "metadata", "payload"]);
      });
    },
    timeout,
  );
}
