import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventBus } from "../../src/index.js";

/** A fresh folder for one test's outbox files; removed by the returned function. */
export async function outboxFolder(): Promise<{ folder: string; path: string; remove: () => Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), "outbox-test-"));
  return {
    folder,
    path: join(folder, "event-outbox.jsonl"),
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}

/** The outbox file's lines, parsed; `[]` when the file is gone. */
export async function outboxLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
}

/**
 * Waits until the outbox has nothing pending and, given its path, its file is gone (replay done, also for what a
 * previous process left, which the outbox counts in the background); polls with a deadline, never asserts on time.
 */
export async function drained(bus: EventBus, path?: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (bus.outboxStatus().pending > 0 || (path !== undefined && existsSync(path))) {
    if (Date.now() > deadline) throw new Error(`outbox still pending: ${JSON.stringify(bus.outboxStatus())}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
