// Question: how long do `ad-seller-events export` and `import` take on 1,000,000 events in a SQLite file (quick:
// 100,000), and does their memory stay flat as the store grows? Runs the built binary as a child process under
// /usr/bin/time (peak RSS), at the full size and at a tenth of it; the floors are the same work without the CLI,
// in this process: reading the table row by row into a file (export), and parsing the lines and appending them
// in batches through the adapter (import).
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import type { Event } from "../src/index.js";
import { parseStoredEvent } from "../src/storage/index.js";
import { sqliteStorage } from "../src/storage/sqlite/index.js";
import { buildCli } from "../tests/cli/cli-process.js";
import { quick, type ResultRow, report } from "./harness.js";

const LARGE = quick ? 100_000 : 1_000_000;
const SMALL = LARGE / 10;
/** Far below the size of the data (~33 MiB per 100,000 events): a run that held the events would fail. */
const HEAP_CAP_MIB = 24;
// The binary as the CLI tests build it: src/cli/index.ts bundled by tsup, in a private folder under .scratch/.
const built = await buildCli();
const folder = built.folder;

function event(index: number): Event {
  return Object.freeze({
    event_id: crypto.randomUUID(),
    event_type: index % 4 === 0 ? "deal.created" : "negotiation.round",
    timestamp: new Date(Date.parse("2026-01-01T00:00:00.000Z") + index).toISOString(),
    flow_id: `flow-${index % 5000}`,
    flow_type: "deal_generation",
    proposal_id: `prop-${index % 20000}`,
    deal_id: index % 4 === 0 ? `deal-${index}` : "",
    session_id: `session-${index % 500}`,
    payload: Object.freeze({ round: index % 7, cpm: 10 + (index % 300) / 100, buyer: "buyer-42" }),
    metadata: Object.freeze({ agent: "seller-1" }),
  });
}

async function seed(path: string, count: number): Promise<void> {
  const storage = sqliteStorage({ database: new Database(path), closeDatabase: true, synchronous: "normal" });
  for (let start = 0; start < count; start += 5000) {
    await storage.append(Array.from({ length: Math.min(5000, count - start) }, (_, i) => event(start + i)));
  }
  await storage.close();
}

/** Runs the binary under /usr/bin/time: wall seconds and peak resident memory in MiB. */
function timed(args: readonly string[], nodeFlags: readonly string[] = []): { seconds: number; peakMiB: number } {
  const started = performance.now();
  const command = [process.execPath, ...nodeFlags, join(folder, "cli.js"), ...args];
  const child = spawnSync("/usr/bin/time", ["-f", "%M", ...command], { encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`ad-seller-events ${args[0]} failed: ${child.stderr}`);
  const peakKiB = Number(child.stderr.trim().split("\n").at(-1));
  return { seconds, peakMiB: peakKiB / 1024 };
}

/** Export floor: every row, in append order, as one line each, straight from the table into a file. */
async function exportFloor(path: string, out: string): Promise<number> {
  const started = performance.now();
  const database = new Database(path, { readonly: true });
  const file = createWriteStream(out);
  for (const row of database.prepare("SELECT * FROM events ORDER BY seq").iterate()) {
    if (!file.write(`${JSON.stringify(row)}\n`)) await once(file, "drain");
  }
  file.end();
  await once(file, "close");
  database.close();
  return (performance.now() - started) / 1000;
}

/** Import floor: parse and validate each line, append batches of 1,000 through the adapter. */
async function importFloor(source: string, path: string): Promise<number> {
  const started = performance.now();
  const storage = sqliteStorage({ database: new Database(path), closeDatabase: true });
  let batch: Event[] = [];
  for await (const line of createInterface({ input: createReadStream(source) })) {
    batch.push(parseStoredEvent(JSON.parse(line), "line"));
    if (batch.length === 1000) {
      await storage.append(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await storage.append(batch);
  await storage.close();
  return (performance.now() - started) / 1000;
}

const rows: ResultRow[] = [];
const peaks: Record<string, number[]> = { export: [], import: [] };
try {
  for (const count of [SMALL, LARGE]) {
    const source = join(folder, `source-${count}.sqlite`);
    await seed(source, count);
    const exported = join(folder, `export-${count}.jsonl`);
    const out = timed(["export", "--store", `sqlite:${source}`, "--output", exported]);
    const into = timed(["import", exported, "--store", `sqlite:${join(folder, `target-${count}.sqlite`)}`]);
    peaks.export?.push(out.peakMiB);
    peaks.import?.push(into.peakMiB);
    if (count !== LARGE) continue;
    // Bounded, not merely lucky: the same work again with the V8 heap capped far below what the data would need.
    for (const [name, args] of [
      ["export", ["export", "--store", `sqlite:${source}`, "--output", join(folder, "capped.jsonl")]],
      ["import", ["import", exported, "--store", `sqlite:${join(folder, "capped.sqlite")}`]],
    ] as const) {
      let outcome = "completed";
      try {
        timed(args, [`--max-old-space-size=${HEAP_CAP_MIB}`]);
      } catch (error) {
        outcome = `failed: ${(error as Error).message.slice(0, 80)}`;
      }
      rows.push({
        question: "cli",
        figure: `${name} ${LARGE.toLocaleString("en")} events with the heap capped at ${HEAP_CAP_MIB} MiB`,
        value: outcome,
        floor: "the data exported",
        floorValue: `${(statSync(exported).size / 2 ** 20).toFixed(0)} MiB`,
        ratio: outcome === "completed" ? 1 : 0,
        target: "completes",
        met: outcome === "completed",
      });
    }
    const exportFloorSeconds = await exportFloor(source, join(folder, "floor.jsonl"));
    const importFloorSeconds = await importFloor(exported, join(folder, "floor.sqlite"));
    for (const [name, run, floorSeconds, floor] of [
      ["export", out, exportFloorSeconds, "SELECT every row in order into a file, in-process"],
      ["import", into, importFloorSeconds, "parse + validate lines, append batches of 1,000, in-process"],
    ] as const) {
      rows.push({
        question: "cli",
        figure: `${name} ${LARGE.toLocaleString("en")} events (SQLite file), the binary`,
        value: `${run.seconds.toFixed(1)} s (${Math.round(LARGE / run.seconds).toLocaleString("en")}/s), peak RSS ${run.peakMiB.toFixed(0)} MiB`,
        floor,
        floorValue: `${floorSeconds.toFixed(1)} s`,
        ratio: floorSeconds / run.seconds,
        target: ">= 0.3x",
        met: floorSeconds / run.seconds >= 0.3,
      });
    }
  }
  for (const name of ["export", "import"] as const) {
    const [small, large] = peaks[name] as [number, number];
    rows.push({
      question: "cli",
      figure: `${name}: peak RSS at ${LARGE.toLocaleString("en")} events`,
      value: `${large.toFixed(0)} MiB`,
      floor: `peak RSS at ${SMALL.toLocaleString("en")} events`,
      floorValue: `${small.toFixed(0)} MiB`,
      ratio: large / small,
      target: "none (information: V8 grows its heap lazily; the capped runs above are the bound)",
      met: true,
      informational: true,
    });
  }
} finally {
  await rm(folder, { recursive: true, force: true });
}
await report("cli", rows, [
  `${LARGE.toLocaleString("en")} events${quick ? " (quick mode; a full run uses 1,000,000)" : ""}, a quarter deal.created, ~330-byte lines`,
]);
