import type { CheckpointStore, ConsumerLease, EventStorage } from "../../storage/types.js";
import type { ConformanceExpect, ConformanceIt } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

const LONG_LEASE_MS = 60_000;
/** Short enough to wait out in a test, long enough for any store to answer the acquire within it. */
const SHORT_LEASE_MS = 300;

/**
 * The cases of the optional checkpoint-and-lease capability (`storage.checkpoints`): compare-and-set
 * checkpoints, lease acquire / renew / release / expiry, fencing by generation, dead letters.
 */
export function defineCheckpointConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
): void {
  const withCheckpoints = (body: (checkpoints: CheckpointStore, name: string) => Promise<void>) =>
    withStore(async ({ storage }) => body(checkpointsOf(storage), `consumer-${crypto.randomUUID()}`));
  const id = () => crypto.randomUUID();

  it(
    "checkpoints: moves a position only by compare-and-set from the expected one",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        expect(await checkpoints.readCheckpoint(name)).toBeNull();
        const lease = (await checkpoints.acquireLease(name, "a", LONG_LEASE_MS)) as ConsumerLease;
        const [first, second, third] = [id(), id(), id()];
        expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: first })).toBe(true);
        expect(await checkpoints.writeCheckpoint(lease, { expected: null, position: second })).toBe(false);
        expect(await checkpoints.writeCheckpoint(lease, { expected: third, position: second })).toBe(false);
        expect(await checkpoints.readCheckpoint(name)).toBe(first);
        expect(await checkpoints.writeCheckpoint(lease, { expected: first, position: second })).toBe(true);
        expect(await checkpoints.readCheckpoint(name)).toBe(second);
        expect(await checkpoints.readCheckpoint(`${name}-other`)).toBeNull();
      }),
    timeout,
  );

  it(
    "checkpoints: grants a lease to one owner at a time and lets the holder extend it",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        const lease = await checkpoints.acquireLease(name, "a", LONG_LEASE_MS);
        expect(lease?.owner).toBe("a");
        expect(await checkpoints.acquireLease(name, "b", LONG_LEASE_MS)).toBeNull();
        const again = await checkpoints.acquireLease(name, "a", LONG_LEASE_MS);
        expect(again?.generation).toBe(lease?.generation);
        expect(await checkpoints.renewLease(lease as ConsumerLease, LONG_LEASE_MS)).toBe(true);
        expect(await checkpoints.acquireLease(name, "b", LONG_LEASE_MS)).toBeNull();
        expect((await checkpoints.acquireLease(`${name}-other`, "b", LONG_LEASE_MS))?.owner).toBe("b");
      }),
    timeout,
  );

  it(
    "checkpoints: gives exactly one of many concurrent acquirers the lease",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        const owners = Array.from({ length: 12 }, (_, index) => `owner-${index}`);
        const leases = await Promise.all(owners.map((owner) => checkpoints.acquireLease(name, owner, LONG_LEASE_MS)));
        expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
      }),
    timeout,
  );

  it(
    "checkpoints: after a release a new owner takes over with a higher generation and fences the old one",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        const old = (await checkpoints.acquireLease(name, "a", LONG_LEASE_MS)) as ConsumerLease;
        const start = id();
        expect(await checkpoints.writeCheckpoint(old, { expected: null, position: start })).toBe(true);
        await checkpoints.releaseLease(old);
        const next = (await checkpoints.acquireLease(name, "b", LONG_LEASE_MS)) as ConsumerLease;
        expect(next.generation > old.generation).toBe(true);
        expect(await checkpoints.renewLease(old, LONG_LEASE_MS)).toBe(false);
        expect(await checkpoints.writeCheckpoint(old, { expected: start, position: id() })).toBe(false);
        await checkpoints.releaseLease(old); // a stale release must not free the new holder's lease
        expect(await checkpoints.acquireLease(name, "c", LONG_LEASE_MS)).toBeNull();
        const moved = id();
        expect(await checkpoints.writeCheckpoint(next, { expected: start, position: moved })).toBe(true);
        expect(await checkpoints.readCheckpoint(name)).toBe(moved);
      }),
    timeout,
  );

  it(
    "checkpoints: an expired lease goes to the next acquirer, and the old holder can no longer write",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        const old = (await checkpoints.acquireLease(name, "a", SHORT_LEASE_MS)) as ConsumerLease;
        expect(await checkpoints.acquireLease(name, "b", LONG_LEASE_MS)).toBeNull();
        // Waiting longer only makes the expiry more certain: no timing is asserted.
        await new Promise((resolve) => setTimeout(resolve, SHORT_LEASE_MS * 2 + 100));
        const next = (await checkpoints.acquireLease(name, "b", LONG_LEASE_MS)) as ConsumerLease;
        expect(next.owner).toBe("b");
        expect(next.generation > old.generation).toBe(true);
        expect(await checkpoints.writeCheckpoint(old, { expected: null, position: id() })).toBe(false);
        expect(await checkpoints.renewLease(old, LONG_LEASE_MS)).toBe(false);
        expect(await checkpoints.readCheckpoint(name)).toBeNull();
      }),
    timeout,
  );

  it(
    "checkpoints: keeps dead letters with the checkpoint write that skipped them, oldest first",
    () =>
      withCheckpoints(async (checkpoints, name) => {
        const lease = (await checkpoints.acquireLease(name, "a", LONG_LEASE_MS)) as ConsumerLease;
        const [poison, next, other] = [id(), id(), id()];
        const letter = { event_id: poison, error: "Error: bad price ü" };
        expect(
          await checkpoints.writeCheckpoint(lease, { expected: null, position: poison, deadLetters: [letter] }),
        ).toBe(true);
        // A refused write records nothing.
        expect(
          await checkpoints.writeCheckpoint(lease, {
            expected: null,
            position: other,
            deadLetters: [{ event_id: other, error: "x" }],
          }),
        ).toBe(false);
        const second = { event_id: next, error: "TypeError: nope" };
        expect(
          await checkpoints.writeCheckpoint(lease, { expected: poison, position: next, deadLetters: [second] }),
        ).toBe(true);
        const letters = await checkpoints.deadLetters(name);
        expect(letters.map(({ event_id, error }) => ({ event_id, error }))).toEqual([letter, second]);
        for (const { failed_at } of letters) expect(Number.isNaN(Date.parse(failed_at))).toBe(false);
        expect(await checkpoints.deadLetters(`${name}-other`)).toEqual([]);
      }),
    timeout,
  );
}

function checkpointsOf(storage: EventStorage): CheckpointStore {
  const { checkpoints } = storage;
  if (checkpoints === undefined) {
    throw new Error(`the ${storage.name} storage has no checkpoints capability, but the suite was told it has`);
  }
  return checkpoints;
}
