import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { EventBus } from "../../bus/event-bus.js";
import { didYouMean } from "../../errors/suggestions.js";
import type { Event } from "../../event/event.js";
import { importAuditFallback } from "../../outbox/audit-fallback.js";
import { excerpt, MAX_LINE_BYTES } from "../../outbox/outbox-lines.js";
import { parseStoredEvent, wireJson } from "../../storage/kit/stored-event.js";
import { stringFlag, UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { formatCount, Progress } from "../progress.js";
import { streamLines } from "../stream-lines.js";
import { summaryLine } from "../summary.js";

const IMPORT_FORMATS = ["jsonl", "audit-fallback"] as const;
/** Events per `append`: one transaction (one Lua script on Redis) each. */
const IMPORT_BATCH = 1000;
/** Rejected lines printed one by one; past this only their count. */
const SHOWN_REJECTIONS = 20;

/** What an import did, for the summary and the exit code. */
interface ImportTally {
  imported: number;
  duplicates: number;
  rejected: number;
}

/** `import <file>`: wire events (an export) or the Python agent's audit fallback file, idempotent. */
export const importCommand: Command = {
  name: "import",
  summary: "store the events of a JSON Lines file or of the Python agent's audit_fallback.jsonl; nothing twice",
  usage: "import <file | -> [--format jsonl|audit-fallback]",
  usesStore: true,
  maxPositionals: 1,
  flags: {
    format: {
      type: "string",
      value: "<format>",
      help: "jsonl (wire events, as export writes them; default) or audit-fallback (the Python agent's file)",
    },
  },
  examples: [
    "ad-seller-events import events.jsonl --store postgres://localhost/seller",
    "ad-seller-events import data/audit_fallback.jsonl --format audit-fallback --store sqlite:./events.sqlite",
    "gunzip -c events.jsonl.gz | ad-seller-events import - --store redis://localhost:6379",
  ],
  async run(context) {
    const [path] = context.args.positionals;
    if (path === undefined) throw new UsageError("<file>", "import needs the file to read");
    const format = stringFlag(context.args, "format") ?? "jsonl";
    if (!(IMPORT_FORMATS as readonly string[]).includes(format)) {
      const hint = didYouMean(format, IMPORT_FORMATS);
      throw new UsageError("--format", `"${format.slice(0, 40)}" is not a format; use jsonl or audit-fallback${hint}`);
    }
    if (path === "-" && format === "audit-fallback") {
      throw new UsageError("<file>", "--format audit-fallback reads a file by its path, not stdin");
    }
    const source = await openSource(context, path);
    const bus = await context.openStore({ access: "write" }).catch(async (error: unknown) => {
      await source.close();
      throw error;
    });
    const tally: ImportTally = { imported: 0, duplicates: 0, rejected: 0 };
    const progress = new Progress(context.stderr, "read");
    try {
      if (format === "audit-fallback") await importFallback(context, bus, path, tally, progress);
      else await importJsonLines(context, bus, source, tally, progress);
    } finally {
      await source.close();
      await bus.close();
      progress.clear();
    }
    const counts = `${formatCount(tally.imported)} imported, ${formatCount(tally.duplicates)} already stored, ${formatCount(tally.rejected)} rejected`;
    context.note(`${summaryLine("import", progress, context.signal.aborted)}: ${counts}`);
    return context.signal.aborted || tally.rejected > 0 ? EXIT_FAILURE : EXIT_OK;
  },
};

/** The bytes to import: a file (whose size gives the ETA), or stdin for `-`. */
interface ImportSource {
  readonly chunks: AsyncIterable<Buffer | string>;
  readonly size: number | undefined;
  close(): Promise<void>;
}

async function openSource(context: CommandContext, path: string): Promise<ImportSource> {
  if (path === "-") return { chunks: context.stdin, size: undefined, close: () => Promise.resolve() };
  const handle = await open(path, "r").catch((error: Error) => {
    throw new UsageError("<file>", `cannot read ${path}: ${error.message}`);
  });
  const { size } = await handle.stat();
  const stream: Readable = handle.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 });
  return { chunks: stream, size, close: () => handle.close() };
}

async function importJsonLines(
  context: CommandContext,
  bus: EventBus,
  source: ImportSource,
  tally: ImportTally,
  progress: Progress,
): Promise<void> {
  let batch: Event[] = [];
  const store = async () => {
    const outcomes = await bus.storage.append(batch);
    outcomes.forEach((stored, index) => {
      const event = batch[index] as Event;
      if (stored === null) tally.imported += 1;
      else if (wireJson(stored) === wireJson(event)) tally.duplicates += 1;
      else
        reject(context, tally, 0, `event_id ${event.event_id} is stored with different content; kept the stored one`);
    });
    progress.add(batch.length);
    batch = [];
  };
  for await (const line of streamLines(source.chunks, MAX_LINE_BYTES)) {
    if (line.text.trim() === "" && !line.oversized) continue;
    const event = readEvent(line.text, line.number, line.oversized);
    if (typeof event === "string") reject(context, tally, line.number, event);
    else batch.push(event);
    if (batch.length === IMPORT_BATCH) {
      await store();
      // Estimated from the bytes read so far: lines of a file are about the same size.
      if (source.size !== undefined)
        progress.expect(Math.round((source.size * progress.count) / Math.max(1, line.end)));
      if (context.signal.aborted) return;
    }
  }
  if (batch.length > 0) await store();
}

function readEvent(text: string, number: number, oversized: boolean): Event | string {
  if (oversized) return "the line is over the 128 MiB cap";
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return `not JSON: ${excerpt(text, 60)}`;
  }
  try {
    return parseStoredEvent(record, `line ${number}`);
  } catch (error) {
    return (error as Error).message;
  }
}

async function importFallback(
  context: CommandContext,
  bus: EventBus,
  path: string,
  tally: ImportTally,
  progress: Progress,
) {
  const result = await importAuditFallback(bus, path);
  tally.imported = result.imported;
  tally.duplicates = result.duplicates;
  progress.add(result.imported + result.duplicates + result.rejected.length);
  for (const { line, reason } of result.rejected) reject(context, tally, line, reason);
}

function reject(context: CommandContext, tally: ImportTally, line: number, reason: string): void {
  tally.rejected += 1;
  if (tally.rejected <= SHOWN_REJECTIONS) context.note(`import: ${line > 0 ? `line ${line}: ` : ""}${reason}`);
  else if (tally.rejected === SHOWN_REJECTIONS + 1) context.note("import: (more rejected lines: only counted)");
}
