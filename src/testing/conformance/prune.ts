import { EventGapError, EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { AUDIT_EVENT_TYPES, EVENT_TYPES, type EventType } from "../../event/event-type.js";
import type { EventStorage } from "../../storage/types.js";
import { buildEvent, type ConformanceExpect, type ConformanceIt, idsOf, rejectionOf } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

const AUDIT: ReadonlySet<EventType> = new Set(AUDIT_EVENT_TYPES);
const NOT_AUDIT = EVENT_TYPES.filter((type) => !AUDIT.has(type));

/** 44 events one second apart, every type twice; the first 30 are older than the returned `before`. */
function retentionDataset(): { events: Event[]; before: string } {
  const events = Array.from({ length: EVENT_TYPES.length * 2 }, (_, index) => buildEvent(index, { flow_id: "f" }));
  return { events, before: (events[30] as Event).timestamp };
}

function pruneOf(storage: EventStorage): NonNullable<EventStorage["prune"]> {
  const prune = storage.prune;
  if (prune === undefined) throw new Error(`${storage.name} has no prune(), but the suite was told it has`);
  return prune.bind(storage);
}

/** Retention: `prune` on stores that declare it (the `prune` switch of `describeStorageConformance`). */
export function definePruneConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
) {
  it(
    "prunes old events of every type but the audit types by default, and reports how many",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const { events, before } = retentionDataset();
        await storage.append(events);
        const doomed = events.slice(0, 30).filter((event) => !AUDIT.has(event.event_type));
        const kept = events.filter((event) => !doomed.includes(event));
        expect(await pruneOf(storage)({ before })).toBe(doomed.length);
        expect(idsOf(await bus.listEvents({ limit: 1000 }))).toEqual(idsOf(kept));
        expect(idsOf(await bus.listEvents({ flow_id: "f", limit: 1000 }))).toEqual(idsOf(kept));
        expect(await bus.listEvents({ event_type: (doomed[0] as Event).event_type, until: before })).toEqual([]);
        for (const event of doomed) expect(await bus.getEvent(event.event_id)).toBeNull();
        // Nothing left to prune: a second run deletes nothing.
        expect(await pruneOf(storage)({ before })).toBe(0);
      });
    },
    timeout,
  );

  it(
    "prunes only the types asked for, in batches reported through onBatch",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const { events, before } = retentionDataset();
        await storage.append(events);
        const types = [NOT_AUDIT[0], AUDIT_EVENT_TYPES[0]] as EventType[];
        const doomed = events.slice(0, 30).filter((event) => types.includes(event.event_type));
        const progress: number[] = [];
        const deleted = await pruneOf(storage)({ before, types, batchSize: 1, onBatch: (n) => progress.push(n) });
        expect(deleted).toBe(doomed.length);
        expect(progress.at(-1)).toBe(doomed.length);
        expect(progress.length >= doomed.length).toBe(true);
        const left = idsOf(await bus.listEvents({ limit: 1000 }));
        expect(left).toEqual(idsOf(events.filter((event) => !doomed.includes(event))));
        const refused = await rejectionOf(pruneOf(storage)({ before: "yesterday" }));
        expect(refused).toBeInstanceOf(EventValidationError);
      });
    },
    timeout,
  );

  it(
    "answers EventGapError with the oldest retained position for a cursor that names a pruned event",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const { events, before } = retentionDataset();
        await storage.append(events);
        await pruneOf(storage)({ before, types: [...EVENT_TYPES] });
        const oldest = events[30] as Event;
        for (const cursor of ["after", "before"] as const) {
          const gap = await rejectionOf(bus.listEvents({ [cursor]: (events[3] as Event).event_id }));
          expect(gap).toBeInstanceOf(EventGapError);
          expect((gap as EventGapError).code).toBe("ERR_EVENT_GAP");
          expect((gap as EventGapError).oldest).toEqual({ event_id: oldest.event_id, timestamp: oldest.timestamp });
        }
        // An id that was never stored is still an unknown cursor, and kept events still page.
        const unknown = await rejectionOf(bus.listEvents({ after: crypto.randomUUID() }));
        expect(unknown).toBeInstanceOf(EventValidationError);
        expect(idsOf(await bus.listEvents({ after: oldest.event_id, limit: 2 }))).toEqual(idsOf(events.slice(31, 33)));
      });
    },
    timeout,
  );

  it(
    "lets an emit complete between prune batches",
    async () => {
      await withStore(async ({ storage, bus }) => {
        const { events, before } = retentionDataset();
        await storage.append(events);
        const order: string[] = [];
        let emitted: Promise<Event> | undefined;
        const pruning = pruneOf(storage)({
          before,
          types: [...EVENT_TYPES],
          batchSize: 1,
          onBatch: () => {
            order.push("batch");
            emitted ??= bus
              .emitEvent({ event_type: "deal.created", flow_id: "during-prune", timestamp: "2026-06-01T00:00:00.000Z" })
              .then((event) => {
                order.push("emit");
                return event;
              });
          },
        });
        expect(await pruning).toBe(30);
        const event = await (emitted as Promise<Event>);
        // The emit resolved while batches were still to come: prune never held the store for its whole run.
        expect(order.indexOf("emit") > 0 && order.indexOf("emit") < order.lastIndexOf("batch")).toBe(true);
        expect(await bus.getEvent(event.event_id)).toEqual(event);
      });
    },
    timeout,
  );
}
