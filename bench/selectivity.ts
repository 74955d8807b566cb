// Question: does every filter combination cost about what its most selective filter costs, however large the store?
// Six query shapes on a skewed data set (one flow_type holds 70% of events; two rare types occur a fixed number of
// times among the newest 5,000 events, so the most selective filter is as small at every size; one type occurs only
// among the first few events), on all four stores, at 10k and at 300k events (quick: 100k). The floor is the same
// query on the 10k store, measured in the same run; the goal is a cost growth of at most 2x.
import { type Event, EventBus, type EventQuery, type EventStorage } from "../src/index.js";
import { formatTiming, quick, type ResultRow, report, summarize, type Timing } from "./harness.js";
import {
  type BenchStore,
  memoryStore,
  postgresStore,
  postgresUnreachable,
  redisStore,
  redisUnreachable,
  sqliteStore,
} from "./stores.js";

const SIZES = [10_000, quick ? 100_000 : 300_000];
const SESSIONS = 100;
const BASE_TIME = Date.parse("2026-01-01T00:00:00.000Z");
const COMMON_TYPES = ["negotiation.round", "proposal.evaluated", "proposal.received", "session.resumed"] as const;

/** One event of a set of `size`: the rare types sit among the newest 5,000 events, 40 and 25 of them. */
function skewedEvent(index: number, size: number): Event {
  const fromEnd = size - index;
  const type =
    index < 10 && index % 3 === 0
      ? "approval.timed_out"
      : fromEnd <= 5000 && fromEnd % 125 === 7
        ? "approval.denied"
        : fromEnd <= 5000 && fromEnd % 200 === 9
          ? "deal.synced"
          : COMMON_TYPES[index % COMMON_TYPES.length];
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: type as Event["event_type"],
    timestamp: new Date(BASE_TIME + index * 10).toISOString(),
    flow_id: `flow-${index % 4000}`,
    flow_type: index % 10 < 7 ? "deal_generation" : index % 10 < 9 ? "proposal_handling" : "deal_sync",
    proposal_id: "",
    deal_id: "",
    session_id: `session-${index % SESSIONS}`,
    payload: Object.freeze({ round: index % 7, cpm: 12.5, currency: "USD" }),
    metadata: Object.freeze({}),
  });
}

async function seed(storage: EventStorage, count: number): Promise<void> {
  for (let start = 0; start < count; start += 2000) {
    await storage.append(
      Array.from({ length: Math.min(2000, count - start) }, (_, i) => skewedEvent(start + i, count)),
    );
  }
}

/** The shapes measured, for a store of `size` events. */
function shapes(size: number): [string, EventQuery][] {
  const recent = new Date(BASE_TIME + (size - 20) * 10).toISOString();
  return [
    ["one narrow filter (session_id)", { session_id: "session-7", limit: 50 }],
    ["flow_type + rare recent type", { flow_type: "deal_generation", event_type: "approval.denied", limit: 5 }],
    ["flow_type + long-absent type", { flow_type: "deal_generation", event_type: "approval.timed_out", limit: 5 }],
    ["rare type alone", { event_type: "approval.denied", limit: 5 }],
    ["flow_type + recent since", { flow_type: "deal_generation", since: recent, limit: 50 }],
    ["two types + flow_type", { flow_type: "deal_sync", event_type: ["approval.denied", "deal.synced"], limit: 5 }],
  ];
}

/**
 * Times each shape: a few warm-up calls, then calls until 300 ms (150 quick) or 200 calls, in rotating order over
 * rounds; the median per round, then the median of rounds. Bounded for shapes that take seconds on a slow store.
 */
async function timeShapes(store: BenchStore, size: number): Promise<Timing[]> {
  await seed(store.storage, size);
  const bus = new EventBus({ storage: store.storage });
  const list = shapes(size);
  const perRound = list.map(() => [] as number[]);
  for (let round = 0; round < (quick ? 3 : 5); round++) {
    for (let offset = 0; offset < list.length; offset++) {
      const index = (offset + round) % list.length;
      const query = (list[index] as [string, EventQuery])[1];
      for (let warm = 0; warm < 3; warm++) await bus.listEvents(query);
      const samples: number[] = [];
      const deadline = performance.now() + (quick ? 150 : 300);
      while (samples.length < 200 && (samples.length < 3 || performance.now() < deadline)) {
        const started = performance.now();
        await bus.listEvents(query);
        samples.push((performance.now() - started) * 1000);
      }
      perRound[index]?.push(summarize("", samples).medianUs);
    }
  }
  return list.map(([name], index) => summarize(name, perRound[index] ?? []));
}

const ADAPTERS: readonly [string, () => BenchStore, () => Promise<string | undefined>][] = [
  ["memory", memoryStore, async () => undefined],
  ["sqlite", sqliteStore, async () => undefined],
  ["postgres", postgresStore, postgresUnreachable],
  ["redis", redisStore, redisUnreachable],
];

const rows: ResultRow[] = [];
const notes: string[] = [];
for (const [adapter, open, unreachable] of ADAPTERS) {
  const why = await unreachable();
  if (why !== undefined) {
    notes.push(`${adapter} skipped: ${why}`);
    continue;
  }
  const bySize: Timing[][] = [];
  for (const size of SIZES) {
    const store = open();
    try {
      bySize.push(await timeShapes(store, size));
    } finally {
      await store.dispose();
    }
  }
  const [small, large] = bySize as [Timing[], Timing[]];
  for (const [index, timing] of large.entries()) {
    const floor = small[index] as Timing;
    const growth = timing.medianUs / floor.medianUs;
    rows.push({
      question: "selectivity",
      figure: `${adapter} ${timing.name}, ${(SIZES[1] as number).toLocaleString("en")} stored`,
      value: formatTiming(timing),
      floor: `same query, ${(SIZES[0] as number).toLocaleString("en")} stored`,
      floorValue: formatTiming(floor),
      ratio: growth,
      target: "<= 2x (cost growth)",
      met: growth <= 2,
    });
  }
}
await report("selectivity", rows, [
  ...notes,
  "skewed set: flow_type deal_generation 70%; approval.denied (40) and deal.synced (25) only among the newest 5,000 events; approval.timed_out only among the first 10 events; 100 sessions",
  "ratio = cost at the larger size / cost at 10k (lower is flatter); PostgreSQL statistics are whatever the adapter's analyzeOnGrowth and autovacuum left after seeding",
]);
