import { PRUNE_RECORD_LOG } from "../../storage/kit/prune-records.js";
import type { DigestStore, EventStorage } from "../../storage/types.js";
import type { ConformanceExpect, ConformanceIt } from "./fixtures.js";
import type { WithStore } from "./storage-conformance.js";

/**
 * The cases of the optional audit-record capability (`storage.digests`): ordered ranges, all-or-nothing appends,
 * one winner when writers race for a key, values kept byte for byte, and `prune` recording its rule first.
 */
export function defineDigestConformance(
  it: ConformanceIt,
  expect: ConformanceExpect,
  withStore: WithStore,
  timeout: number,
): void {
  const withDigests = (body: (digests: DigestStore, log: string, storage: EventStorage) => Promise<void>) =>
    withStore(async ({ storage }) => body(digestsOf(storage), `log-${crypto.randomUUID()}`, storage));
  const record = (key: number, value = `value ${key}`) => ({ key, value });

  it(
    "digests: reads records back in key order, after a key, at most limit, and the newest",
    () =>
      withDigests(async (digests, log) => {
        expect(await digests.last(log)).toBeNull();
        expect(await digests.range(log, 0, 10)).toEqual([]);
        expect(await digests.append(log, [record(1), record(2), record(3)])).toBe(true);
        expect(await digests.append(log, [record(10), record(4)])).toBe(true);
        expect((await digests.range(log, 0, 100)).map((found) => found.key)).toEqual([1, 2, 3, 4, 10]);
        expect(await digests.range(log, 2, 2)).toEqual([record(3), record(4)]);
        expect(await digests.range(log, 10, 5)).toEqual([]);
        expect(await digests.last(log)).toEqual(record(10));
      }),
    timeout,
  );

  it(
    "digests: an append with a taken key writes nothing; logs are separate",
    () =>
      withDigests(async (digests, log) => {
        expect(await digests.append(log, [record(1)])).toBe(true);
        expect(await digests.append(log, [record(2), record(1, "forged"), record(3)])).toBe(false);
        expect(await digests.range(log, 0, 10)).toEqual([record(1)]);
        expect(await digests.append(`${log}-other`, [record(1, "other")])).toBe(true);
        expect(await digests.last(log)).toEqual(record(1));
      }),
    timeout,
  );

  it(
    "digests: keeps values byte for byte (unicode, quotes, 64 KiB)",
    () =>
      withDigests(async (digests, log) => {
        const values = ['{"a":"€ \\u0000 😀"}', "plain \"quoted\" 'text'\n", "x".repeat(65_536)];
        expect(
          await digests.append(
            log,
            values.map((value, index) => record(index, value)),
          ),
        ).toBe(true);
        expect((await digests.range(log, -1, 10)).map((found) => found.value)).toEqual(values);
      }),
    timeout,
  );

  it(
    "digests: of writers racing for the same key, exactly one wins",
    () =>
      withDigests(async (digests, log) => {
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, writer) => digests.append(log, [record(7, `writer ${writer}`), record(8)])),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes.indexOf(true);
        expect(await digests.range(log, 0, 10)).toEqual([record(7, `writer ${winner}`), record(8)]);
      }),
    timeout,
  );

  it(
    "digests: prune records the rule it applies before deleting anything",
    () =>
      withDigests(async (digests, _log, storage) => {
        if (storage.prune === undefined) return;
        const before = "2020-01-01T00:00:00.000Z";
        await storage.prune({ before, types: ["deal.synced"] });
        const [recorded] = await digests.range(PRUNE_RECORD_LOG, -1, 10);
        const { types, before: recordedBefore } = JSON.parse(recorded?.value ?? "{}");
        expect({ before: recordedBefore, types }).toEqual({ before, types: ["deal.synced"] });
      }),
    timeout,
  );
}

function digestsOf(storage: EventStorage): DigestStore {
  const digests = storage.digests;
  if (digests === undefined)
    throw new Error(`${storage.name} has no digests capability, but the suite was told it has`);
  return digests;
}
