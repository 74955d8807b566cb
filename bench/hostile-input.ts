// Question: what does refusing a hostile emit input cost, next to accepting a valid payload at the size cap?
// Refusal must be bounded by the cap, not by the input: a 5,000,000-element array or a Proxy claiming a huge length
// must cost no more than a payload the bus accepts. Each input is built once, outside the timing; each case is
// timed as whole emitEvent calls (median of several), because the slow cases are far too slow for many iterations.
import { EventBus, EventValidationError } from "../src/index.js";
import { quick, type ResultRow, report, speedRow, summarize, type Timing } from "./harness.js";

const CAP = 64 * 1024;

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 0; level < depth; level++) value = { next: value };
  return value;
}

function manyKeys(count: number): Record<string, number> {
  const value: Record<string, number> = {};
  for (let index = 0; index < count; index++) value[`k${index}`] = index;
  return value;
}

/** An array Proxy that answers every read: its claimed length is all an attacker controls. */
function claimingLength(length: number): unknown[] {
  return new Proxy([], {
    get: (target, key) => (key === "length" ? length : typeof key === "string" ? 1 : Reflect.get(target, key)),
    has: () => true,
  });
}

/** A valid payload just under the cap: 500 lines of a realistic shape (about 60 KiB as JSON). */
function payloadAtCap(): Record<string, unknown> {
  const lines = Array.from({ length: 500 }, (_, index) => ({ sku: `sku-${index}`, cpm: 12.5, imps: 100_000 + index }));
  const payload = { lines, note: "" };
  payload.note = "x".repeat(CAP - 200 - JSON.stringify(payload).length);
  return payload;
}

const CASES: readonly [string, () => unknown][] = [
  ["array of 5,000,000 numbers", () => ({ values: new Array(5_000_000).fill(1) })],
  ["Proxy array claiming 5,000,000 elements", () => ({ values: claimingLength(5_000_000) })],
  ["object of 100,000 keys", () => manyKeys(100_000)],
  ["10,000 levels of nesting", () => nested(10_000)],
  ["string of 16 MiB", () => ({ text: "x".repeat(16 * 1024 * 1024) })],
];

const runs = quick ? 5 : 11;
const budgetMs = quick ? 4000 : 15_000;

/** Times `emit` on the same input several times (stops early past the time budget), in µs per call. */
async function timeCalls(name: string, emit: () => Promise<void>): Promise<Timing> {
  await emit(); // warm-up
  const samples: number[] = [];
  const began = performance.now();
  while (samples.length < runs && (samples.length < 3 || performance.now() - began < budgetMs)) {
    const start = performance.now();
    await emit();
    samples.push((performance.now() - start) * 1000);
  }
  return summarize(name, samples);
}

const bus = new EventBus({ maxPayloadBytes: CAP });
const valid = payloadAtCap();
const floor = await timeCalls("accept a payload at the cap", async () => {
  await bus.emitEvent({ event_type: "deal.created", payload: valid });
});
// The floor is fast enough for a steadier median over many calls.
const floorSamples: number[] = [];
for (let round = 0; round < (quick ? 200 : 1000); round++) {
  const start = performance.now();
  await bus.emitEvent({ event_type: "deal.created", payload: valid });
  floorSamples.push((performance.now() - start) * 1000);
}
const steadyFloor = summarize(floor.name, floorSamples);

const rows: ResultRow[] = [];
const notes: string[] = [];
for (const [name, build] of CASES) {
  const payload = build();
  let outcome = "refused with EventValidationError";
  const timing = await timeCalls(name, async () => {
    try {
      await bus.emitEvent({ event_type: "deal.created", payload: payload as Record<string, unknown> });
      outcome = "ACCEPTED";
    } catch (error) {
      if (!(error instanceof EventValidationError)) outcome = `rejected with ${(error as Error)?.name ?? "?"}`;
    }
  });
  if (outcome !== "refused with EventValidationError") notes.push(`${name}: ${outcome}`);
  const row = speedRow("hostile-input", `refuse ${name}`, timing, "accept a 60 KiB payload", steadyFloor, 1);
  const keysCase = name === "object of 100,000 keys";
  rows.push(keysCase ? { ...row, informational: true } : row);
  if (keysCase) {
    // No JavaScript API counts an object's keys without listing them, and V8 lists a 100k-key (dictionary) object
    // slowly: the least any check can do is one Object.keys of it, which is the fair floor for this case.
    const listing = await timeCalls("Object.keys of it", async () => void Object.keys(payload as object));
    rows.push(speedRow("hostile-input", `refuse ${name}`, timing, "one Object.keys of it", listing, 0.5));
  }
}
await bus.close();
await report("hostile-input", rows, notes);
