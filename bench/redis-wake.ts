// Question: what does the Redis wake-up cost an emit, with a watcher listening, one at a time and 16 in flight?
// Floor: the same emits on a store with `notify: false`. Many short rounds, the two stores alternating (order
// flipped each round); the ratio is taken per round pair and the median reported, so the drift of a shared machine
// cancels out.
import { EventBus } from "../src/index.js";
import { quick, type ResultRow, report, skip, summarize } from "./harness.js";
import { payloadFor, redisStore, redisUnreachable } from "./stores.js";

const QUESTION = "redis-wake";
const ROUNDS = quick ? 15 : 41;
const PER_ROUND = quick ? 200 : 500;
const IN_FLIGHT = 16;

const unreachable = await redisUnreachable();
if (unreachable !== undefined) {
  await skip(QUESTION, unreachable);
  process.exit(0);
}

const on = redisStore();
const off = redisStore({ notify: false });
const stopWatch = on.storage.watch?.(() => {});
const buses = { on: new EventBus({ storage: on.storage }), off: new EventBus({ storage: off.storage }) };
let counter = 0;
const emit = (bus: EventBus) =>
  bus.emitEvent({ event_type: "negotiation.round", session_id: "s-1", deal_id: "d-1", payload: payloadFor(counter++) });

/** µs per emit for `PER_ROUND` emits, `width` at a time. */
async function timed(bus: EventBus, width: number): Promise<number> {
  const began = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let index = 0; index < PER_ROUND / width; index++) await emit(bus);
    }),
  );
  return ((performance.now() - began) * 1000) / PER_ROUND;
}

const rows: ResultRow[] = [];
for (const width of [1, IN_FLIGHT]) {
  await timed(buses.on, width);
  await timed(buses.off, width);
  const times = { on: [] as number[], off: [] as number[] };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
    for (const name of order) times[name].push(await timed(buses[name], width));
    ratios.push((times.off.at(-1) as number) / (times.on.at(-1) as number));
  }
  const ratio = summarize("ratio", ratios);
  const onTime = summarize("on", times.on);
  const offTime = summarize("off", times.off);
  rows.push({
    question: QUESTION,
    figure: `redis emitEvent, wake-up on (watched), ${width === 1 ? "one at a time" : `${width} in flight`}`,
    value: `${onTime.medianUs.toFixed(1)} µs`,
    floor: "notify: false",
    floorValue: `${offTime.medianUs.toFixed(1)} µs`,
    ratio: ratio.medianUs,
    target: ">= 0.9x",
    met: ratio.medianUs >= 0.9,
  });
}
await stopWatch?.();
await Promise.all([on.dispose(), off.dispose()]);
await report(QUESTION, rows, [
  `${ROUNDS} round pairs of ${PER_ROUND} emits, order flipped each round; ratio = median over rounds of off time / on time`,
]);
