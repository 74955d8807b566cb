// Question: how much heap does one stored event take in memoryStorage, through the bus, next to the size of its
// JSON? Emits 1M typical events (200k with --quick) and compares heapUsed after full garbage collections.
// Needs --expose-gc; started without it, the file re-runs itself with it.
import { spawnSync } from "node:child_process";
import { EventBus } from "../src/index.js";
import { quick, report } from "./harness.js";

const QUESTION = "heap";
const COUNT = quick ? 200_000 : 1_000_000;

if (typeof globalThis.gc !== "function") {
  const child = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  process.exit(child.status ?? 1);
}
const collect = globalThis.gc as () => void;

function heapAfterGc(): number {
  // Twice: the first pass may leave objects that only the second finds unreachable (weak references, finalizers).
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** What a seller flow typically emits: ten events per flow, fifty per session, a small structured payload. */
function typicalInput(index: number) {
  const flow = Math.floor(index / 10);
  return {
    event_type: index % 3 === 0 ? ("negotiation.round" as const) : ("proposal.evaluated" as const),
    flow_id: `flow-${flow}`,
    flow_type: index % 2 === 0 ? "proposal_handling" : "deal_sync",
    proposal_id: `proposal-${flow}`,
    session_id: `session-${Math.floor(index / 50)}`,
    payload: { round: index % 7, cpm: 12.5, currency: "USD", buyer: `buyer-${index % 100}` },
  };
}

const bus = new EventBus();
const before = heapAfterGc();
let jsonBytes = 0;
let sampled = 0;
const started = performance.now();
for (let index = 0; index < COUNT; index++) {
  const event = await bus.emitEvent(typicalInput(index));
  if (index % 100 === 0) {
    jsonBytes += Buffer.byteLength(JSON.stringify(event));
    sampled++;
  }
}
const emitSeconds = (performance.now() - started) / 1000;
const after = heapAfterGc();
const heapPerEvent = (after - before) / COUNT;
const jsonPerEvent = jsonBytes / sampled;
const ratio = heapPerEvent / jsonPerEvent;
// Keeps the bus (and so every stored event) reachable until after the last measurement.
await bus.close();

await report(
  QUESTION,
  [
    {
      question: QUESTION,
      figure: `heap per stored event, ${COUNT.toLocaleString("en")} in memoryStorage`,
      value: `${Math.round(heapPerEvent)} B`,
      floor: "the event's JSON (UTF-8)",
      floorValue: `${Math.round(jsonPerEvent)} B`,
      ratio,
      target: "<= 3x (heap / JSON)",
      met: ratio <= 3,
    },
  ],
  [
    `heapUsed after gc: ${(before / 1e6).toFixed(1)} MB before, ${(after / 1e6).toFixed(1)} MB after ${COUNT.toLocaleString("en")} emits ` +
      `(${emitSeconds.toFixed(1)} s); JSON size averaged over every 100th event; ratio = heap / JSON (lower is better)`,
  ],
);
