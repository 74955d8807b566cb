import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { Bench } from "tinybench";

/** True when run with `--quick`: fewer rounds, shorter runs, smaller stores. */
export const quick = process.argv.includes("--quick");

/** One way of doing the measured thing: the library's, or the floor it is compared with. */
export interface Contender<State = unknown> {
  readonly name: string;
  /** Builds fresh state before each round (a new store, a new bus); not timed. */
  readonly setup?: () => State | Promise<State>;
  /** One timed call; does `opsPerCall` operations. */
  readonly run: (state: State) => unknown;
  /** Releases the state after a round; not timed. */
  readonly teardown?: (state: State) => unknown;
  /** Operations done by one `run` call. Default 1. */
  readonly opsPerCall?: number;
}

/** Time per operation over the rounds: median of the per-round medians, and their spread. */
export interface Timing {
  readonly name: string;
  readonly medianUs: number;
  readonly minUs: number;
  readonly maxUs: number;
  readonly opsPerSecond: number;
}

/**
 * Measures contenders in interleaved rounds (the order rotates each round), so that drift of a shared machine hits
 * every contender alike. Each round is one tinybench run per contender, with warm-up; the result per contender is the
 * median over rounds of tinybench's median latency, with the min-max of those medians.
 */
export async function measure(
  contenders: readonly Contender<never>[],
  options: { rounds?: number; timeMs?: number } = {},
): Promise<Timing[]> {
  const rounds = options.rounds ?? (quick ? 3 : 7);
  const timeMs = options.timeMs ?? (quick ? 250 : 1000);
  const perRound = new Map<string, number[]>(contenders.map((contender) => [contender.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map(
      (_, index) => contenders[(index + round) % contenders.length] as unknown as Contender<unknown>,
    );
    for (const contender of order) {
      const state = await contender.setup?.();
      const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 2), warmupIterations: 20 });
      bench.add(contender.name, () => contender.run(state));
      await bench.run();
      const latency = bench.tasks[0]?.result?.latency;
      if (latency?.p50 === undefined)
        throw new Error(`${contender.name}: no result (${String(bench.tasks[0]?.result?.error)})`);
      perRound.get(contender.name)?.push((latency.p50 * 1000) / (contender.opsPerCall ?? 1));
      await contender.teardown?.(state);
    }
  }
  return contenders.map(({ name }) => summarize(name, perRound.get(name) ?? []));
}

/** Summarises per-round times (µs per op) the same way `measure` does. */
export function summarize(name: string, microseconds: readonly number[]): Timing {
  const sorted = [...microseconds].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const medianUs =
    sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { name, medianUs, minUs: sorted[0] as number, maxUs: sorted.at(-1) as number, opsPerSecond: 1e6 / medianUs };
}

/** One line of the results: a figure, its floor, their ratio and the target. */
export interface ResultRow {
  readonly question: string;
  readonly figure: string;
  readonly value: string;
  readonly floor: string;
  readonly floorValue: string;
  /** How the figure compares with its floor, e.g. 0.83 (higher is better, unless `lowerIsBetter`). */
  readonly ratio: number;
  readonly target: string;
  readonly met: boolean;
  /** Shown for information only: no target applies, so `met` is not counted. */
  readonly informational?: boolean;
}

/** Formats a timing as "12.3 µs (11.9-13.0)". */
export function formatTiming(timing: Timing): string {
  const digits = (value: number) =>
    value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  return `${digits(timing.medianUs)} µs (${digits(timing.minUs)}-${digits(timing.maxUs)})`;
}

/** Throughput ratio of a figure against its floor: above 1 means faster than the floor. */
export function speedRatio(figure: Timing, floor: Timing): number {
  return floor.medianUs / figure.medianUs;
}

/**
 * A row comparing a timing with its floor by throughput (`floor / figure`): meets the target when the ratio is at
 * least `atLeast`.
 */
export function speedRow(
  question: string,
  figure: string,
  timing: Timing,
  floor: string,
  floorTiming: Timing,
  atLeast: number,
): ResultRow {
  const ratio = speedRatio(timing, floorTiming);
  return {
    question,
    figure,
    value: formatTiming(timing),
    floor,
    floorValue: formatTiming(floorTiming),
    ratio,
    target: `>= ${atLeast}x`,
    met: ratio >= atLeast,
  };
}

/**
 * Records that a benchmark did not run (e.g. its service is unreachable): prints one clear line and writes a result
 * file without rows, so that `bench/run.ts` lists it as skipped instead of reusing an older result.
 */
export async function skip(question: string, reason: string): Promise<void> {
  console.log(`\n## ${question}: SKIPPED: ${reason}`);
  await writeResult(question, { rows: [], notes: [], skipped: reason });
}

/** Prints result rows as one console table: figure, value, floor, ratio, target, met. */
export function printRows(rows: readonly ResultRow[]): void {
  console.table(
    rows.map((row) => ({
      figure: row.figure,
      value: row.value,
      floor: `${row.floor}: ${row.floorValue}`,
      ratio: row.ratio.toFixed(2),
      target: row.target,
      met: metLabel(row),
    })),
  );
}

/** "yes", "NO", or "n/a" for rows given for information. */
export function metLabel(row: ResultRow): string {
  if (row.informational) return "n/a";
  return row.met ? "yes" : "NO";
}

/** Prints the rows as a table and writes them to `bench/results/<question>.json`. */
export async function report(
  question: string,
  rows: readonly ResultRow[],
  notes: readonly string[] = [],
): Promise<void> {
  console.log(`\n## ${question}${quick ? " (quick)" : ""}`);
  printRows(rows);
  for (const note of notes) console.log(`note: ${note}`);
  await writeResult(question, { rows, notes });
}

/** Directory of the result files, one `<question>.json` per benchmark. */
export const RESULTS_DIRECTORY = join(import.meta.dirname, "results");

async function writeResult(question: string, content: Record<string, unknown>): Promise<void> {
  await mkdir(RESULTS_DIRECTORY, { recursive: true });
  const machine = { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown" };
  await writeFile(
    join(RESULTS_DIRECTORY, `${question}.json`),
    `${JSON.stringify({ question, quick, machine, date: new Date().toISOString(), ...content }, null, 2)}\n`,
  );
}
