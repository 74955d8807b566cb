import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import type { EventType } from "../../event/event-type.js";
import type { EventQuery } from "../../event/query.js";
import {
  buildDataset,
  buildEvent,
  type ConformanceExpect,
  type ConformanceIt,
  idsOf,
  rejectionOf,
  seed,
} from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

type Predicate = (event: Event) => boolean;

const PROPOSAL_TYPES: EventType[] = ["proposal.evaluated", "proposal.rejected", "deal.synced", "approval.requested"];

const SINGLE_FILTERS: readonly [EventQuery, Predicate][] = [
  [{ flow_id: "flow-1" }, (event) => event.flow_id === "flow-1"],
  [{ flow_type: "deal_sync" }, (event) => event.flow_type === "deal_sync"],
  [{ session_id: "session-2" }, (event) => event.session_id === "session-2"],
  [{ proposal_id: "proposal-1" }, (event) => event.proposal_id === "proposal-1"],
  [{ deal_id: "deal-4" }, (event) => event.deal_id === "deal-4"],
  [{ event_type: "deal.created" }, (event) => event.event_type === "deal.created"],
  [
    { event_type: ["proposal.received", "deal.synced", "session.closed"] },
    (event) => ["proposal.received", "deal.synced", "session.closed"].includes(event.event_type),
  ],
  [{ since: "2026-03-01T12:00:10.000Z" }, (event) => event.timestamp >= "2026-03-01T12:00:10.000Z"],
  [{ until: "2026-03-01T12:00:10.000Z" }, (event) => event.timestamp < "2026-03-01T12:00:10.000Z"],
];

const COMBINED_FILTERS: readonly [EventQuery, Predicate][] = [
  [
    { session_id: "session-1", flow_id: "flow-2" },
    (event) => event.session_id === "session-1" && event.flow_id === "flow-2",
  ],
  [
    { flow_type: "proposal_handling", event_type: PROPOSAL_TYPES },
    (event) => event.flow_type === "proposal_handling" && PROPOSAL_TYPES.includes(event.event_type),
  ],
  [
    { deal_id: "deal-1", proposal_id: "proposal-1", since: "2026-03-01T12:00:05.000Z" },
    (event) =>
      event.deal_id === "deal-1" && event.proposal_id === "proposal-1" && event.timestamp >= "2026-03-01T12:00:05.000Z",
  ],
  [
    { session_id: "session-0", since: "2026-03-01T12:00:04.000Z", until: "2026-03-01T12:00:16.000Z" },
    (event) =>
      event.session_id === "session-0" &&
      event.timestamp >= "2026-03-01T12:00:04.000Z" &&
      event.timestamp < "2026-03-01T12:00:16.000Z",
  ],
  [{ session_id: "session-0", flow_id: "flow-0", deal_id: "deal-5" }, () => false],
  [{ session_id: "no-such-session" }, () => false],
];

/** Filters, limits, windows and cursors, against a shared 24-event dataset. */
export function defineQueryConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
) {
  it(
    "applies each filter alone, returning exactly the matching events in append order",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = buildDataset();
        await seed((batch) => storage.append(batch), dataset, 10);
        for (const [query, predicate] of SINGLE_FILTERS) {
          const expected = idsOf(dataset.filter(predicate));
          expect(expected.length > 0 && expected.length < dataset.length, JSON.stringify(query)).toBe(true);
          expect(idsOf(await bus.listEvents({ ...query, limit: 1000 })), JSON.stringify(query)).toEqual(expected);
        }
      });
    },
    timeout,
  );

  it(
    "ANDs combined filters",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = buildDataset();
        await seed((batch) => storage.append(batch), dataset, 10);
        for (const [query, predicate] of COMBINED_FILTERS) {
          const expected = idsOf(dataset.filter(predicate));
          expect(idsOf(await bus.listEvents({ ...query, limit: 1000 })), JSON.stringify(query)).toEqual(expected);
        }
      });
    },
    timeout,
  );

  it(
    "returns the newest `limit` matches oldest to newest, 50 by default, up to 1000",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = Array.from({ length: 1005 }, (_, index) => buildEvent(index, { flow_id: `flow-${index % 2}` }));
        await seed((batch) => storage.append(batch), dataset);
        expect(idsOf(await bus.listEvents())).toEqual(idsOf(dataset.slice(-50)));
        expect(idsOf(await bus.listEvents({ limit: 1 }))).toEqual(idsOf(dataset.slice(-1)));
        expect(idsOf(await bus.listEvents({ limit: 1000 }))).toEqual(idsOf(dataset.slice(-1000)));
        const odd = dataset.filter((event) => event.flow_id === "flow-1");
        expect(idsOf(await bus.listEvents({ flow_id: "flow-1", limit: 3 }))).toEqual(idsOf(odd.slice(-3)));
        for (const limit of [0, 1001, -1, 1.5]) {
          expect(await rejectionOf(bus.listEvents({ limit })), `limit ${limit}`).toBeInstanceOf(EventValidationError);
        }
      });
    },
    timeout,
  );

  it(
    "tails with `after` and pages back with `before`, always oldest to newest",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = buildDataset();
        await seed((batch) => storage.append(batch), dataset, 5);
        const cursor = dataset[9] as Event;
        expect(idsOf(await bus.listEvents({ after: cursor.event_id, limit: 4 }))).toEqual(idsOf(dataset.slice(10, 14)));
        expect(idsOf(await bus.listEvents({ before: cursor.event_id, limit: 4 }))).toEqual(idsOf(dataset.slice(5, 9)));
        expect(idsOf(await bus.listEvents({ before: (dataset[2] as Event).event_id }))).toEqual(
          idsOf(dataset.slice(0, 2)),
        );
        expect(await bus.listEvents({ after: (dataset.at(-1) as Event).event_id })).toEqual([]);
        const flowOne = dataset.filter((event) => event.flow_id === "flow-1");
        // A cursor is a position in the store: it need not match the filter itself.
        expect(idsOf(await bus.listEvents({ flow_id: "flow-1", after: cursor.event_id, limit: 2 }))).toEqual(
          idsOf(flowOne.filter((event) => dataset.indexOf(event) > 9).slice(0, 2)),
        );
        expect(idsOf(await bus.listEvents({ flow_id: "flow-1", before: cursor.event_id, limit: 2 }))).toEqual(
          idsOf(flowOne.filter((event) => dataset.indexOf(event) < 9).slice(-2)),
        );
      });
    },
    timeout,
  );

  it(
    "says whether more events lie beyond a page in each window",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = buildDataset();
        await seed((batch) => storage.append(batch), dataset);
        const newest = await bus.listEventsPage({ limit: 10 });
        expect(newest.has_more).toBe(true);
        expect(idsOf(newest.events)).toEqual(idsOf(dataset.slice(-10)));
        const oldest = await bus.listEventsPage({ before: (newest.events[0] as Event).event_id, limit: 14 });
        expect(oldest.has_more).toBe(false);
        expect(idsOf(oldest.events)).toEqual(idsOf(dataset.slice(0, 14)));
        const tail = await bus.listEventsPage({ after: (dataset[19] as Event).event_id, limit: 4 });
        expect(tail.has_more).toBe(false);
        expect(idsOf(tail.events)).toEqual(idsOf(dataset.slice(20)));
        expect((await bus.listEventsPage({ after: (dataset[18] as Event).event_id, limit: 4 })).has_more).toBe(true);
      });
    },
    timeout,
  );

  it(
    "rejects unknown cursor ids and both cursors at once with EventValidationError",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const dataset = buildDataset();
        await seed((batch) => storage.append(batch), dataset);
        const unknown = crypto.randomUUID();
        for (const query of [{ after: unknown }, { before: unknown }, { after: "garbage" }]) {
          const error = await rejectionOf(bus.listEvents(query));
          expect(error, JSON.stringify(query)).toBeInstanceOf(EventValidationError);
          expect((error as EventValidationError).message).toMatch(Object.keys(query)[0] as string);
        }
        const both = { after: (dataset[1] as Event).event_id, before: (dataset[5] as Event).event_id };
        expect(await rejectionOf(bus.listEvents(both))).toBeInstanceOf(EventValidationError);
      });
    },
    timeout,
  );
}
