// Questions: (1) does sealing keep up with the store? A sealer (a durable consumer, batchSize 1,000) seals N stored
// events into a digest; the floor reads the same N by cursor, 1,000 a page, on the same store in the same run
// (goal >= 0.5x). (2) What do time and peak memory look like to verify a large trail (1M events in a full run,
// 100k with --quick) on a SQLite file? (3) Does the emit path pay for sealing? Sequential emits on SQLite with a
// sealer running in the same process against none (goal >= 0.95x).
import { generateKeyPairSync } from "node:crypto";
import { sealAuditTrail, verifyAuditTrail } from "../src/audit/index.js";
import { type Event, EventBus } from "../src/index.js";
import { quick, type ResultRow, report, speedRow, summarize } from "./harness.js";
import { type BenchStore, memoryStore, postgresStore, postgresUnreachable, seedStore, sqliteStore } from "./stores.js";

const QUESTION = "audit";
const EVENTS = quick ? 20_000 : 100_000;
const VERIFY_EVENTS = quick ? 100_000 : 1_000_000;
const EMITS = quick ? 2_000 : 10_000;
const ROUNDS = quick ? 3 : 5;
const PAGE = 1000;
const { privateKey, publicKey } = generateKeyPairSync("ed25519");

async function readByCursor(bus: EventBus): Promise<number> {
  let page = await bus.listEvents({ limit: 1 });
  const [newest] = page;
  // From the oldest: walk to it once (not timed), as the sealer's consumer does once.
  let oldest = (await bus.listEvents({ before: newest?.event_id, limit: PAGE })).at(0);
  for (let older = [oldest]; older.length > 0; ) {
    older = await bus.listEvents({ before: oldest?.event_id, limit: PAGE });
    if (older.length > 0) oldest = older[0];
  }
  const began = performance.now();
  let count = 1;
  for (let cursor = oldest?.event_id as string; ; cursor = (page.at(-1) as Event).event_id) {
    page = await bus.listEvents({ after: cursor, limit: PAGE });
    if (page.length === 0) break;
    count += page.length;
  }
  if (count !== EVENTS) throw new Error(`the floor read ${count} events, not ${EVENTS}`);
  return ((performance.now() - began) * 1000) / EVENTS;
}

async function sealAll(bus: EventBus, round: number): Promise<number> {
  const began = performance.now();
  const sealer = sealAuditTrail(bus, { signingKey: privateKey, every: 3_600_000, name: `bench-${round}` });
  const digest = await sealer.sealNow({ timeoutMs: 600_000 });
  const elapsed = performance.now() - began;
  await sealer.stop();
  if (digest?.entries.count !== EVENTS) throw new Error(`sealed ${digest?.entries.count} events, not ${EVENTS}`);
  return (elapsed * 1000) / EVENTS;
}

async function sealingRow(label: string, store: BenchStore): Promise<ResultRow> {
  const bus = new EventBus({ storage: store.storage });
  await seedStore(store.storage, EVENTS, 50);
  const floor: number[] = [];
  const figure: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(await readByCursor(bus));
    figure.push(await sealAll(bus, round));
  }
  await bus.close();
  await store.dispose();
  const title = `${label}: sealAuditTrail, batchSize ${PAGE} (per event)`;
  return speedRow(
    QUESTION,
    title,
    summarize("seal", figure),
    "listEvents({ after, limit: 1000 }) by cursor",
    summarize("read", floor),
    0.5,
  );
}

/** Seals VERIFY_EVENTS on a SQLite file, then verifies them, sampling the heap for its peak above the start. */
async function verification(): Promise<{ row: ResultRow; note: string }> {
  const store = sqliteStore({ synchronous: "normal" });
  const bus = new EventBus({ storage: store.storage });
  await seedStore(store.storage, VERIFY_EVENTS, 50);
  const sealer = sealAuditTrail(bus, { signingKey: privateKey, every: 3_600_000 });
  await sealer.sealNow({ timeoutMs: 1_800_000 });
  await sealer.stop();
  globalThis.gc?.();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  const began = performance.now();
  const report = await verifyAuditTrail(bus, { publicKey });
  const seconds = (performance.now() - began) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  await bus.close();
  await store.dispose();
  if (!report.intact || report.summary.sealed_events !== VERIFY_EVENTS) throw new Error("verification failed");
  const peakMb = (peak - baseline) / 1024 / 1024;
  const row: ResultRow = {
    question: QUESTION,
    figure: `sqlite: verifyAuditTrail of ${VERIFY_EVENTS.toLocaleString("en")} events (time; peak heap above start)`,
    value: `${seconds.toFixed(1)} s; ${peakMb.toFixed(0)} MB`,
    floor: "events per second",
    floorValue: `${Math.round(VERIFY_EVENTS / seconds).toLocaleString("en")}/s`,
    ratio: seconds,
    target: "bounded memory",
    met: peakMb < 256,
    informational: true,
  };
  return { row, note: `verification: ${VERIFY_EVENTS.toLocaleString("en")} events in one digest, window 10,000` };
}

/** Sequential emits per event, with a sealer running in this process or not, alternating rounds. */
async function emitRow(): Promise<ResultRow> {
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const sealing of [false, true]) {
      const store = sqliteStore();
      const bus = new EventBus({ storage: store.storage });
      const sealer = sealing ? sealAuditTrail(bus, { signingKey: privateKey, every: 1000 }) : undefined;
      const began = performance.now();
      for (let index = 0; index < EMITS; index++) {
        await bus.emitEvent({
          event_type: "negotiation.round",
          session_id: `s-${index % 50}`,
          payload: { round: index },
        });
      }
      (sealing ? on : off).push(((performance.now() - began) * 1000) / EMITS);
      await sealer?.stop();
      await bus.close();
      await store.dispose();
    }
  }
  return speedRow(
    QUESTION,
    "sqlite: emitEvent with a sealer running in-process",
    summarize("on", on),
    "emitEvent, no sealer",
    summarize("off", off),
    0.95,
  );
}

const rows: ResultRow[] = [];
const notes: string[] = [`sealing: ${EVENTS.toLocaleString("en")} events, ${ROUNDS} rounds, median µs per event`];
rows.push(await sealingRow("memory", memoryStore()));
rows.push(await sealingRow("sqlite", sqliteStore()));
const pgDown = await postgresUnreachable();
if (pgDown === undefined) rows.push(await sealingRow("postgres", postgresStore(4)));
else notes.push(`postgres skipped: ${pgDown}`);
rows.push(await emitRow());
const verified = await verification();
rows.push(verified.row);
notes.push(verified.note, `emit: ${EMITS.toLocaleString("en")} sequential emits per round (synchronous "full")`);
await report(QUESTION, rows, notes);
process.exit(0);
