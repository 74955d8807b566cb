// Question: how fast does storage.prune() delete, and what does an emit cost while it runs? Each store holds
// 1,000,000 events (quick: 100,000), two thirds of non-audit types; prune deletes those older than the newest one.
// A writer emits one event at a time for the whole prune; its p99 is compared with the p99 of the same writer
// before the prune (same run).
import { type Event, EventBus, type EventStorage } from "../src/index.js";
import { quick, type ResultRow, report } from "./harness.js";
import {
  type BenchStore,
  memoryStore,
  postgresStore,
  postgresUnreachable,
  redisStore,
  redisUnreachable,
  sqliteStore,
} from "./stores.js";

const STORED = quick ? 100_000 : 1_000_000;
const BASE_TIME = Date.parse("2026-01-01T00:00:00.000Z");

function oldEvent(index: number): Event {
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: index % 3 === 0 ? "deal.created" : index % 3 === 1 ? "session.resumed" : "proposal.evaluated",
    timestamp: new Date(BASE_TIME + index).toISOString(),
    flow_id: `flow-${index % 5000}`,
    flow_type: "deal_generation",
    proposal_id: "",
    deal_id: "",
    session_id: `session-${index % 500}`,
    payload: Object.freeze({ round: index % 7 }),
    metadata: Object.freeze({}),
  });
}

async function seed(storage: EventStorage): Promise<void> {
  for (let start = 0; start < STORED; start += 5000) {
    await storage.append(Array.from({ length: Math.min(5000, STORED - start) }, (_, i) => oldEvent(start + i)));
  }
}

/** Emits one at a time until `done()` (and at least `minimum` times), returning each emit's latency in ms. */
async function emitUntil(bus: EventBus, done: () => boolean, minimum = 0): Promise<number[]> {
  const latencies: number[] = [];
  while (!done() || latencies.length < minimum) {
    const started = performance.now();
    await bus.emitEvent({ event_type: "negotiation.round", session_id: "live", timestamp: "2027-01-01T00:00:00.000Z" });
    latencies.push(performance.now() - started);
    // A writer between requests: lets timers and I/O run (a memory emit alone never leaves the microtask queue).
    await new Promise((resolve) => setImmediate(resolve));
  }
  return latencies;
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)] ?? Number.NaN;

const rows: ResultRow[] = [];
const notes: string[] = [];
const ADAPTERS: [string, () => BenchStore, () => Promise<string | undefined>][] = [
  ["memory", memoryStore, async () => undefined],
  ["sqlite", sqliteStore, async () => undefined],
  ["postgres", postgresStore, postgresUnreachable],
  ["redis", redisStore, redisUnreachable],
];
for (const [name, open, unreachable] of ADAPTERS) {
  const why = await unreachable();
  if (why !== undefined) {
    notes.push(`${name} skipped: ${why}`);
    continue;
  }
  const store = open();
  try {
    await seed(store.storage);
    const bus = new EventBus({ storage: store.storage });
    const baseline = await emitUntil(bus, () => true, 200);
    let finished = false;
    const started = performance.now();
    const pruning = (store.storage.prune as NonNullable<EventStorage["prune"]>)({
      before: "2026-12-31T00:00:00.000Z",
    }).finally(() => {
      finished = true;
    });
    const during = await emitUntil(bus, () => finished);
    const deleted = await pruning;
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      question: "prune",
      figure: `${name}: prune ${deleted.toLocaleString("en")} of ${STORED.toLocaleString("en")} events`,
      value: `${Math.round(deleted / seconds).toLocaleString("en")} deleted/s; emit p99 ${p99(during).toFixed(2)} ms (${during.length} emits)`,
      floor: "emit p99 before the prune",
      floorValue: `${p99(baseline).toFixed(2)} ms`,
      ratio: p99(during) / p99(baseline),
      target: "none (information: p99 during / before)",
      met: true,
      informational: true,
    });
  } finally {
    await store.dispose();
  }
}
await report("prune", rows, [
  ...notes,
  `${STORED.toLocaleString("en")} events, one third deal.created (audit, kept); default batch 1000; one writer emitting one at a time throughout`,
]);
