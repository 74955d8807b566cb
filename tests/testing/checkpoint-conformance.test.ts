// The checkpoint cases of the conformance suite must fail stores that break the capability's rules.
import { describe, expect, it } from "vitest";
import { memoryStorage } from "../../src/index.js";
import type { CheckpointStore, ConsumerLease, EventStorage } from "../../src/storage/index.js";
import { describeStorageConformance } from "../../src/testing/index.js";

type SuiteTest = { name: string; body: () => Promise<void> };

async function failingCheckpointTests(createStorage: () => EventStorage): Promise<string[]> {
  const tests: SuiteTest[] = [];
  describeStorageConformance({
    name: "under test",
    createStorage,
    checkpoints: true,
    describe: (_, body) => body(),
    it: (name, body) => void tests.push({ name, body }),
    expect,
  });
  const failed: string[] = [];
  for (const test of tests.filter((candidate) => candidate.name.startsWith("checkpoints:"))) {
    await test.body().catch(() => failed.push(test.name));
  }
  return failed;
}

function withCheckpoints(overrides: (inner: CheckpointStore) => Partial<CheckpointStore>): () => EventStorage {
  return () => {
    const storage = memoryStorage();
    const inner = storage.checkpoints as CheckpointStore;
    return { ...storage, checkpoints: { ...inner, ...overrides(inner) } };
  };
}

describe("describeStorageConformance, checkpoint cases", () => {
  it("passes the memory store and is not defined without the switch", async () => {
    expect(await failingCheckpointTests(() => memoryStorage())).toEqual([]);
    const names: string[] = [];
    describeStorageConformance({
      name: "plain",
      createStorage: () => memoryStorage(),
      describe: (_, body) => body(),
      it: (name) => void names.push(name),
      expect,
    });
    expect(names.filter((name) => name.startsWith("checkpoints:"))).toEqual([]);
  });

  it("fails a store told to have checkpoints that has none", async () => {
    const { checkpoints: _, ...plain } = memoryStorage();
    expect(await failingCheckpointTests(() => plain)).toHaveLength(6);
  });

  const latest = new Map<string, ConsumerLease>();
  it.each<[string, (inner: CheckpointStore) => Partial<CheckpointStore>, string]>([
    [
      "ignores the expected position",
      (inner) => ({
        writeCheckpoint: async (lease, write) =>
          inner.writeCheckpoint(lease, { ...write, expected: await inner.readCheckpoint(lease.name) }),
      }),
      "checkpoints: moves a position only by compare-and-set from the expected one",
    ],
    [
      "grants a held lease to anyone",
      () => ({ acquireLease: async (name, owner) => ({ name, owner, generation: 1 }) }),
      "checkpoints: grants a lease to one owner at a time and lets the holder extend it",
    ],
    [
      "never lets a lease expire",
      (inner) => ({ acquireLease: (name, owner) => inner.acquireLease(name, owner, 3_600_000) }),
      "checkpoints: an expired lease goes to the next acquirer, and the old holder can no longer write",
    ],
    [
      "does not fence a stale holder",
      (inner) => ({
        acquireLease: async (name, owner, leaseMs) => {
          const lease = await inner.acquireLease(name, owner, leaseMs);
          if (lease) latest.set(name, lease);
          return lease;
        },
        writeCheckpoint: (lease, write) => inner.writeCheckpoint(latest.get(lease.name) ?? lease, write),
      }),
      "checkpoints: after a release a new owner takes over with a higher generation and fences the old one",
    ],
    [
      "drops dead letters",
      (inner) => ({ writeCheckpoint: (lease, { deadLetters: _, ...write }) => inner.writeCheckpoint(lease, write) }),
      "checkpoints: keeps dead letters with the checkpoint write that skipped them, oldest first",
    ],
  ])("catches a checkpoint store that %s", async (_, overrides, expectedFailure) => {
    expect(await failingCheckpointTests(withCheckpoints(overrides))).toContain(expectedFailure);
  });
});
