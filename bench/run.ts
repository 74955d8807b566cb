// `npm run bench [-- --quick] [-- --write-docs] [-- <name>...]`: runs every benchmark file in its own child process,
// one after another, then prints one summary of the results written during this run. A full run (no --quick), or
// --write-docs, also writes the summary into docs/performance.md between the bench:results markers.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { metLabel, printRows, RESULTS_DIRECTORY, type ResultRow } from "./harness.js";

/** In order of cost: the cheap ones first, so that a broken service shows up early. */
const BENCHMARKS = [
  "memory-emit",
  "hostile-input",
  "sqlite-emit",
  "postgres-emit",
  "redis-emit",
  "redis-wake",
  "heap",
  "http",
  "list",
  "live",
  "outbox",
  "consumers",
  "selectivity",
  "http-stores",
  "postgres-read",
  "prune",
  "forwarding",
  "webhooks",
  "cli",
  "audit",
  "postgres-fleet",
  "postgres-commit-delay",
] as const;
const START_MARKER = "<!-- bench:results:start -->";
const END_MARKER = "<!-- bench:results:end -->";
const DOC = join(import.meta.dirname, "..", "docs", "performance.md");

const flags = process.argv.slice(2).filter((argument) => argument.startsWith("--"));
const named = process.argv.slice(2).filter((argument) => !argument.startsWith("--"));
const quick = flags.includes("--quick");
const writeDocs = !quick || flags.includes("--write-docs");
const unknown = named.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.join(", ")}`);
const selected = named.length > 0 ? BENCHMARKS.filter((name) => named.includes(name)) : BENCHMARKS;
const childFlags = flags.filter((flag) => flag !== "--write-docs");

interface ResultFile {
  readonly question: string;
  readonly date: string;
  readonly quick: boolean;
  readonly rows: readonly ResultRow[];
  readonly skipped?: string;
}

function runFile(name: string): Promise<number> {
  const file = join(import.meta.dirname, `${name}.ts`);
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", file, ...childFlags], { stdio: "inherit" });
  return new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
}

async function readResult(name: string, since: number): Promise<ResultFile | undefined> {
  const path = join(RESULTS_DIRECTORY, `${name}.json`);
  if (!existsSync(path)) return undefined;
  const result = JSON.parse(await readFile(path, "utf8")) as ResultFile;
  // A file left by an earlier run says nothing about this one.
  return Date.parse(result.date) >= since ? result : undefined;
}

const started = Date.now();
const failures: string[] = [];
for (const name of selected) {
  const began = performance.now();
  const code = await runFile(name);
  console.log(`(${name}: ${((performance.now() - began) / 1000).toFixed(1)} s)`);
  if (code !== 0) failures.push(`${name} exited with code ${code}`);
}

const rows: ResultRow[] = [];
const skipped: string[] = [];
for (const name of selected) {
  const result = await readResult(name, started);
  if (result === undefined) {
    if (!failures.some((failure) => failure.startsWith(name))) failures.push(`${name} wrote no result`);
    continue;
  }
  if (result.skipped !== undefined) skipped.push(`${name}: skipped (${result.skipped})`);
  rows.push(...result.rows);
}

const seconds = (Date.now() - started) / 1000;
const counted = rows.filter((row) => !row.informational);
const met = counted.filter((row) => row.met).length;
console.log(`\n# Summary${quick ? " (quick)" : ""}: ${met} of ${counted.length} targets met, ${seconds.toFixed(0)} s`);
printRows(rows);
for (const line of [...skipped, ...failures]) console.log(line);

if (writeDocs && named.length === 0) {
  await writeSummary(rows, skipped, seconds);
  console.log(`wrote the summary into ${DOC}`);
}
if (failures.length > 0) process.exitCode = 1;

/** Replaces what lies between the markers (or appends the markers) in docs/performance.md. */
async function writeSummary(results: readonly ResultRow[], skips: readonly string[], took: number): Promise<void> {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const table = [
    "| figure | value | floor (same run) | ratio | target | met |",
    "| --- | --- | --- | --- | --- | --- |",
    ...results.map(
      (row) =>
        `| ${cell(row.figure)} | ${cell(row.value)} | ${cell(`${row.floor}: ${row.floorValue}`)} | ${row.ratio.toFixed(2)} | ${cell(row.target)} | ${metLabel(row)} |`,
    ),
  ];
  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
  const block = [
    START_MARKER,
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench${quick ? " -- --quick --write-docs" : ""}\` (${machine}; ${took.toFixed(0)} s).`,
    "",
    ...table,
    ...(skips.length > 0 ? ["", ...skips.map((line) => `- ${line}`)] : []),
    END_MARKER,
  ].join("\n");
  const current = existsSync(DOC) ? await readFile(DOC, "utf8") : "# Performance\n";
  const start = current.indexOf(START_MARKER);
  const end = current.indexOf(END_MARKER);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + END_MARKER.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  await writeFile(DOC, next);
}
