import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus, memoryStorage, OutboxLockedError } from "../../src/index.js";
import { fileOutbox } from "../../src/outbox/index.js";
import { drained, outboxFolder } from "../support/outbox.js";

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts the child; `lines` collects its stdout lines, `closed` resolves when it has exited and stdout ended. */
function startChild(mode: "emit" | "hold", path: string) {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/fixtures/outbox-child.ts", mode, path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines: string[] = [];
  let buffered = "";
  const waiters: (() => void)[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const untilLines = async (count: number) => {
    while (lines.length < count) {
      if (child.exitCode !== null) throw new Error(`the child exited early (${child.exitCode})`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, lines, closed, untilLines };
}

describe("fileOutbox across processes", () => {
  it("replays, in a new process, every event a SIGKILLed child had acknowledged, each once", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const { child, lines, closed, untilLines } = startChild("emit", path);
    await untilLines(300);
    child.kill("SIGKILL");
    await closed;
    const acknowledged = lines.filter((line) => line.startsWith("ack ")).map((line) => line.slice(4));
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);

    // The file as the child left it: every whole line, in order (a torn last line has no newline).
    const fileIds = (await readFile(path, "utf8"))
      .split("\n")
      .slice(0, -1)
      .map((line) => (JSON.parse(line) as { event_id: string }).event_id);
    const errors: Error[] = [];
    const bus = new EventBus({
      storage: memoryStorage(),
      outbox: fileOutbox({ path, onError: (e) => errors.push(e) }),
    });
    cleanups.push(() => bus.close());
    await drained(bus, path);
    const stored = await bus.listEvents({ limit: 1000 });
    const storedIds = stored.map((event) => event.event_id);
    expect(new Set(storedIds).size).toBe(storedIds.length);
    const missing = acknowledged.filter((id) => !storedIds.includes(id));
    expect(missing).toEqual([]);
    // Only a line torn by the kill may be skipped; nothing else is reported.
    expect(errors.every((error) => error.message.includes("torn last line"))).toBe(true);
    // Replay keeps the file's order, and stores nothing the file did not hold.
    expect(storedIds).toEqual(fileIds);
  });

  it("a second process gets ERR_OUTBOX_LOCKED while the owner lives, and takes over once it is dead", async () => {
    const { path, remove } = await outboxFolder();
    cleanups.push(remove);
    const { child, closed, untilLines } = startChild("hold", path);
    await untilLines(1);
    let error: unknown;
    try {
      fileOutbox({ path });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxLockedError);
    expect((error as OutboxLockedError).code).toBe("ERR_OUTBOX_LOCKED");
    expect((error as Error).message).toContain(`pid ${child.pid}`);
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8")).pid).toBe(child.pid);

    child.kill("SIGKILL");
    await closed;
    const outbox = fileOutbox({ path });
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8")).pid).toBe(process.pid);
    await outbox.close();
  });
});
