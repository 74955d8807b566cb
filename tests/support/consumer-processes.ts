// Child consumer processes and their shared handler log, for tests/consumers/consume-processes.test.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConsumerStatus } from "../../src/index.js";
import type { ChildConfig } from "../fixtures/consumer-process.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A running consumer process and the status lines it printed. */
export interface ConsumerChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly statuses: ConsumerStatus[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first status (printed from now on or before) that satisfies `predicate`. */
  until(predicate: (status: ConsumerStatus) => boolean, what: string, timeoutMs?: number): Promise<ConsumerStatus>;
  stderr(): string;
}

export function startConsumer(config: ChildConfig): ConsumerChild {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/fixtures/consumer-process.ts", JSON.stringify(config)],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const statuses: ConsumerStatus[] = [];
  const waiters = new Set<() => void>();
  let buffered = "";
  let errors = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") statuses.push(JSON.parse(line) as ConsumerStatus);
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    process: child,
    pid: child.pid as number,
    statuses,
    exited,
    stderr: () => errors,
    until(predicate, what, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = statuses.find(predicate);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`consumer ${child.pid} never reported ${what}; saw ${JSON.stringify(statuses)}\n${errors}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** One line of the shared handler log. */
export interface LogLine {
  readonly kind: "start" | "end" | "fail" | "killed";
  readonly pid: number;
  readonly ids: readonly string[];
}

export function readLog(path: string): LogLine[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [kind, pid, ids] = line.split(" ");
      return { kind: kind as LogLine["kind"], pid: Number(pid), ids: ids ? ids.split(",") : [] };
    });
}

/** Polls the log file (written by other processes) until `predicate` holds. */
export async function untilLog(
  path: string,
  predicate: (lines: LogLine[]) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = readLog(path);
    if (predicate(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`the handler log never showed ${what}; it holds ${lines.length} lines`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Handler calls that overlapped in time, judged by log order (appends to one file are ordered): a `start` while
 * another process's call is open. A killed process's open call is closed by the `killed` line the test writes
 * once the process is gone.
 */
export function overlaps(lines: readonly LogLine[]): string[] {
  const open = new Map<number, number>();
  const found: string[] = [];
  lines.forEach((line, index) => {
    if (line.kind === "killed") open.delete(line.pid);
    else if (line.kind === "start") {
      for (const [pid, at] of open)
        if (pid !== line.pid) found.push(`line ${index} (pid ${line.pid}) while line ${at} (pid ${pid}) was open`);
      open.set(line.pid, index);
    } else open.delete(line.pid);
  });
  return found;
}
