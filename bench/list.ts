// Question: does listing stay flat as the store grows? listEvents (limit 50; one filter, then two) and getEvent
// with 1k, 100k and 1M events stored, for every adapter that can hold 1M. The floor is the same query on the
// 1k-event store, measured in the same run.
import { EventBus } from "../src/index.js";
import { formatTiming, measure, quick, type ResultRow, report, type Timing } from "./harness.js";
import { type BenchStore, memoryStore, postgresStore, postgresUnreachable, seedStore, sqliteStore } from "./stores.js";

const SIZES = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
const EVENTS_PER_SESSION = 200;
const ADAPTERS: readonly [string, () => BenchStore][] = [
  ["memory", memoryStore],
  ["sqlite", sqliteStore],
  ["postgres", postgresStore],
];

async function timeQueries(store: BenchStore, size: number): Promise<Timing[]> {
  const sessions = size / EVENTS_PER_SESSION;
  const ids = await seedStore(store.storage, size, sessions);
  const bus = new EventBus({ storage: store.storage });
  const session_id = `session-${Math.floor(sessions / 2)}`;
  let lookup = 0;
  return measure(
    [
      { name: "one filter", run: () => bus.listEvents({ session_id, limit: 50 }) },
      { name: "two filters", run: () => bus.listEvents({ session_id, flow_type: "proposal_handling", limit: 50 }) },
      { name: "getEvent", run: () => bus.getEvent(ids[lookup++ % ids.length] as string) },
    ] as never[],
    { rounds: quick ? 3 : 5, timeMs: quick ? 200 : 500 },
  );
}

const rows: ResultRow[] = [];
const notes: string[] = [];
const pgUnreachable = await postgresUnreachable();
for (const [adapter, open] of ADAPTERS) {
  if (adapter === "postgres" && pgUnreachable !== undefined) {
    console.log(`list: postgres SKIPPED: ${pgUnreachable}`);
    notes.push(`postgres skipped: ${pgUnreachable}`);
    continue;
  }
  const bySize = new Map<number, Timing[]>();
  for (const size of SIZES) {
    const store = open();
    try {
      bySize.set(size, await timeQueries(store, size));
    } finally {
      await store.dispose();
    }
  }
  const smallest = bySize.get(SIZES[0] as number) as Timing[];
  const largest = SIZES.at(-1) as number;
  for (const [index, timing] of (bySize.get(largest) as Timing[]).entries()) {
    const floor = smallest[index] as Timing;
    const growth = timing.medianUs / floor.medianUs;
    rows.push({
      question: "list",
      figure: `${adapter} ${timing.name}, ${largest.toLocaleString("en")} stored`,
      value: formatTiming(timing),
      floor: `same query, ${(SIZES[0] as number).toLocaleString("en")} stored`,
      floorValue: formatTiming(floor),
      ratio: growth,
      target: "<= 2x (cost growth)",
      met: growth <= 2,
    });
  }
}
await report("list", rows, [
  ...notes,
  `sizes ${SIZES.join(", ")}; ${EVENTS_PER_SESSION} events per session; ratio = cost at the largest size / cost at the smallest (lower is flatter)`,
]);
