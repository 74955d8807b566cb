import { existsSync, statSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { didYouMean } from "../../errors/suggestions.js";
import { fileOutbox } from "../../outbox/file-outbox.js";
import { readLines } from "../../outbox/outbox-lines.js";
import { UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { formatCount } from "../progress.js";

const ACTIONS = ["status", "replay"] as const;
const POLL_MS = 100;

/** What an outbox file holds, read without taking it over. */
interface OutboxFileStatus {
  readonly file: string;
  readonly pending: number;
  readonly oldest_timestamp: string | null;
  readonly owner: unknown;
  readonly rejected_lines: number;
}

/** `outbox status|replay <file>`: the audit outbox a bus left behind (DESIGN section 13). */
export const outboxCommand: Command = {
  name: "outbox",
  summary: "show what an outbox file holds (status), or store its events now (replay)",
  usage: "outbox status <file> | outbox replay <file>",
  usesStore: true,
  maxPositionals: 2,
  flags: {},
  examples: [
    "ad-seller-events outbox status data/event-outbox.jsonl",
    "ad-seller-events outbox replay data/event-outbox.jsonl --store postgres://localhost/seller",
  ],
  async run(context) {
    const [action, path] = context.args.positionals;
    if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError("<action>", `outbox takes status or replay${didYouMean(action, ACTIONS)}`);
    }
    if (path === undefined) throw new UsageError("<file>", `outbox ${action} needs the outbox file`);
    const status = await readStatus(path);
    if (action === "status") {
      await printStatus(context, status);
      return EXIT_OK;
    }
    return replay(context, path, status.pending);
  },
};

async function readStatus(path: string): Promise<OutboxFileStatus> {
  let pending = 0;
  let oldest: string | null = null;
  // The outbox deletes its file once every event is confirmed: no file is nothing pending.
  const handle = existsSync(path) ? await open(path, "r") : undefined;
  try {
    for await (const line of handle === undefined ? [] : readLines(handle)) {
      if (!line.complete || line.oversized || line.text.trim() === "") continue;
      try {
        const parsed = JSON.parse(line.text) as { timestamp?: string } | { timestamp?: string }[];
        const events = Array.isArray(parsed) ? parsed : [parsed];
        oldest ??= events[0]?.timestamp ?? null;
        pending += events.length;
      } catch {
        // A line that is not JSON is rejected at replay; it holds no pending event.
      }
    }
  } finally {
    await handle?.close();
  }
  const owner = await readFile(`${path}.lock`, "utf8").then(
    (text) => JSON.parse(text) as unknown,
    () => null,
  );
  const rejected = await readFile(`${path}.rejected`, "utf8").then(
    (text) => text.split("\n").filter((line) => line !== "").length,
    () => 0,
  );
  return { file: path, pending, oldest_timestamp: oldest, owner, rejected_lines: rejected };
}

async function printStatus(context: CommandContext, status: OutboxFileStatus): Promise<void> {
  if (context.style.json) {
    await context.print(JSON.stringify(status));
    return;
  }
  const owner = status.owner as { pid?: number; host?: string; since?: string } | null;
  await context.print(`${status.file}: ${formatCount(status.pending)} events pending`);
  if (status.oldest_timestamp !== null) await context.print(`  oldest     ${status.oldest_timestamp}`);
  await context.print(
    `  owner      ${owner === null ? "none (replay may take it)" : `pid ${owner.pid} on ${owner.host} since ${owner.since}`}`,
  );
  if (status.rejected_lines > 0) {
    await context.print(`  rejected   ${formatCount(status.rejected_lines)} lines in ${status.file}.rejected`);
  }
}

/**
 * Takes the outbox over (its lock: refused while its owner lives) and lets the bus replay it into the store, then
 * waits until the file is empty, the store fails, or Ctrl-C. What was not confirmed stays in the file.
 */
async function replay(context: CommandContext, path: string, pending: number): Promise<number> {
  if (pending === 0) {
    context.note(`outbox: ${path} holds no pending events`);
    return EXIT_OK;
  }
  const outbox = fileOutbox({ path, types: "all", onError: (error) => context.note(`outbox: ${error.message}`) });
  const bus = await context.openStore({ access: "write", outbox }).catch(async (error: unknown) => {
    await outbox.close();
    throw error;
  });
  let failure: string | null = null;
  try {
    while (!context.signal.aborted) {
      const status = bus.outboxStatus();
      // pending is 0 also before the outbox has counted the file: only an emptied file says it is done.
      if (status.pending === 0 && (statSync(path, { throwIfNoEntry: false })?.size ?? 0) === 0) break;
      if (status.last_error !== null) {
        failure = status.last_error;
        break;
      }
      await sleep(POLL_MS, undefined, { signal: context.signal }).catch(() => undefined);
    }
  } finally {
    await bus.close();
  }
  const left = (await readStatus(path)).pending;
  const done = `${formatCount(pending - left)} of ${formatCount(pending)} events stored`;
  if (failure !== null) context.note(`outbox: ${done}; the store failed: ${failure}; run replay again later`);
  else if (context.signal.aborted) context.note(`outbox: stopped by Ctrl-C: ${done}; the rest stays in ${path}`);
  else context.note(`outbox: ${done}`);
  return failure === null && !context.signal.aborted ? EXIT_OK : EXIT_FAILURE;
}
