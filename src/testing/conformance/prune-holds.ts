import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../../event/event.js";
import { AUDIT_EVENT_TYPES, EVENT_TYPES, type EventType } from "../../event/event-type.js";
import { PRUNE_RECORD_LOG } from "../../storage/kit/prune-records.js";
import type {
  CheckpointStore,
  ConsumerLease,
  ConsumerQuery,
  EventStorage,
  PruneHold,
  PruneOptions,
} from "../../storage/types.js";
import { buildEvent, type ConformanceExpect, type ConformanceIt, idsOf, rejectionOf } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

const AUDIT: ReadonlySet<EventType> = new Set(AUDIT_EVENT_TYPES);
const [TYPE_A, TYPE_B, TYPE_C] = EVENT_TYPES.filter((type) => !AUDIT.has(type)) as [EventType, EventType, EventType];
const TEN_MINUTES = 10 * 60_000;
const DAY = 86_400_000;
/** Later than every event of the dataset: without holds, everything of the types asked for goes. */
const BEFORE = "2027-01-01T00:00:00.000Z";
const TYPES = [TYPE_A, TYPE_B];

/** Ten events ten minutes apart (more than a hold's skew allowance), alternating two types: A at even indexes. */
function holdDataset(): Event[] {
  const start = Date.parse("2026-03-01T00:00:00.000Z");
  return Array.from({ length: 10 }, (_, index) =>
    buildEvent(index, {
      event_type: index % 2 === 0 ? TYPE_A : TYPE_B,
      timestamp: new Date(start + index * TEN_MINUTES).toISOString(),
    }),
  );
}

function pruneOf(storage: EventStorage): (options: PruneOptions) => Promise<number> {
  const prune = storage.prune;
  if (prune === undefined) throw new Error(`${storage.name} has no prune(), but the suite was told it has`);
  return prune.bind(storage);
}

function checkpointsOf(storage: EventStorage): CheckpointStore {
  const checkpoints = storage.checkpoints;
  if (checkpoints === undefined) throw new Error(`${storage.name} has no checkpoints, but the suite was told it has`);
  return checkpoints;
}

/** Registers a consumer the way `consume()` does: a lease taken with its query, then (optionally) a checkpoint. */
async function registerConsumer(
  storage: EventStorage,
  query: ConsumerQuery,
  position: string | null,
): Promise<{ name: string; lease: ConsumerLease }> {
  const checkpoints = checkpointsOf(storage);
  const name = `holder-${crypto.randomUUID()}`;
  const lease = (await checkpoints.acquireLease(name, "owner", 60_000, query)) as ConsumerLease;
  if (position !== null && !(await checkpoints.writeCheckpoint(lease, { expected: null, position }))) {
    throw new Error("the checkpoint write was refused");
  }
  return { name, lease };
}

/**
 * Retention that durable consumers hold back (`prune` with the `checkpoints` capability), and the dry run (any
 * store with `prune`).
 */
export function definePruneHoldConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
  checkpoints: boolean,
): void {
  const left = async (storage: EventStorage) =>
    idsOf(await storage.list({ event_types: [TYPE_A, TYPE_B, TYPE_C], limit: 1000 }));

  it(
    "prune dry run counts what would go, deletes nothing, records nothing, and refuses a misspelt option",
    () =>
      withStore(async ({ storage }) => {
        const events = holdDataset();
        await storage.append(events);
        const before = (events[6] as Event).timestamp;
        expect(await pruneOf(storage)({ before, types: TYPES, dryRun: true })).toBe(6);
        expect(await left(storage)).toEqual(idsOf(events));
        if (storage.digests !== undefined) expect(await storage.digests.last(PRUNE_RECORD_LOG)).toBeNull();
        const misspelt = { before, types: TYPES, dryrun: true } as unknown as PruneOptions;
        expect(await rejectionOf(pruneOf(storage)(misspelt))).toBeInstanceOf(EventValidationError);
        expect(await left(storage)).toEqual(idsOf(events));
        expect(await pruneOf(storage)({ before, types: TYPES })).toBe(6);
        expect(await left(storage)).toEqual(idsOf(events.slice(6)));
      }),
    timeout,
  );

  if (!checkpoints) return;

  it(
    "checkpoints: lists each consumer with its query and when it was last seen",
    () =>
      withStore(async ({ storage }) => {
        const query: ConsumerQuery = { event_types: [TYPE_A], flow_id: "f-1" };
        const { name } = await registerConsumer(storage, query, null);
        const [listed] = (await checkpointsOf(storage).listConsumers?.()) ?? [];
        expect(listed?.name).toBe(name);
        expect(listed?.position).toBeNull();
        expect(listed?.query).toEqual(query);
        const seen = Date.parse(listed?.last_seen ?? "");
        expect(Math.abs(seen - Date.now()) < DAY).toBe(true);
      }),
    timeout,
  );

  it(
    "prune keeps the events a live consumer whose query matches them has not handled, and reports the hold",
    () =>
      withStore(async ({ storage }) => {
        const events = holdDataset();
        await storage.append(events);
        const checkpoint = events[4] as Event;
        const { name } = await registerConsumer(storage, { event_types: [TYPE_A] }, checkpoint.event_id);
        const holds: PruneHold[][] = [];
        const counted = await pruneOf(storage)({ before: BEFORE, types: TYPES, dryRun: true });
        const deleted = await pruneOf(storage)({
          before: BEFORE,
          types: TYPES,
          onHold: (held) => holds.push([...held]),
        });
        // Every B goes; of A only the handled ones stamped before the checkpoint (index 0 and 2).
        expect(deleted).toBe(7);
        expect(counted).toBe(7);
        expect(await left(storage)).toEqual(idsOf([events[4], events[6], events[8]] as Event[]));
        expect(holds.length).toBe(1);
        expect(holds[0]?.map((hold) => [hold.name, hold.position, hold.types])).toEqual([
          [name, checkpoint.event_id, [TYPE_A]],
        ]);
      }),
    timeout,
  );

  it(
    "prune: a consumer whose query matches none of the types holds nothing; consumers: ignore deletes past any",
    () =>
      withStore(async ({ storage }) => {
        const events = holdDataset();
        await storage.append(events);
        // No checkpoint yet: a matching consumer would keep every event of its types.
        await registerConsumer(storage, { event_types: [TYPE_C] }, null);
        expect(await pruneOf(storage)({ before: BEFORE, types: [TYPE_B] })).toBe(5);
        await registerConsumer(storage, { event_types: [TYPE_A] }, null);
        expect(await pruneOf(storage)({ before: BEFORE, types: TYPES })).toBe(0);
        expect(await pruneOf(storage)({ before: BEFORE, types: TYPES, consumers: "ignore" })).toBe(5);
        expect(await left(storage)).toEqual([]);
      }),
    timeout,
  );

  it(
    "prune: a consumer not seen for staleConsumerMs stops holding",
    () =>
      withStore(async ({ storage }) => {
        const events = holdDataset();
        await storage.append(events);
        await registerConsumer(storage, {}, null);
        const [consumer] = (await checkpointsOf(storage).listConsumers?.()) ?? [];
        const lastSeen = Date.parse(consumer?.last_seen ?? "");
        const eightDaysOn = new Date(lastSeen + 8 * DAY);
        expect(
          await pruneOf(storage)({ before: BEFORE, types: TYPES, now: eightDaysOn, staleConsumerMs: 9 * DAY }),
        ).toBe(0);
        expect(await pruneOf(storage)({ before: BEFORE, types: TYPES, now: new Date(lastSeen + DAY) })).toBe(0);
        // Seven days (the default) after it was last seen, it no longer keeps anything.
        expect(await pruneOf(storage)({ before: BEFORE, types: TYPES, now: eightDaysOn })).toBe(10);
      }),
    timeout,
  );
}
