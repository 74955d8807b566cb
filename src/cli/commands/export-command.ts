import { didYouMean } from "../../errors/suggestions.js";
import { stringFlag, UsageError } from "../cli-args.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { eventIdOf, WALK_PAGE, walkEventJson } from "../event-walk.js";
import { EXPORT_FORMATS, type ExportFormat, exportEncoder } from "../export-formats.js";
import { openLineSink } from "../line-sink.js";
import { Progress } from "../progress.js";
import { asUsageError, FILTER_FLAGS, queryFromFlags } from "../query-flags.js";
import { summaryLine } from "../summary.js";

/** `export`: every matching event, oldest first, streamed by cursor pages. */
export const exportCommand: Command = {
  name: "export",
  summary: "write every matching event, oldest first, as JSON Lines or CSV (streamed: any size, flat memory)",
  usage: "export [filters] [--format jsonl|csv|cloudevents|iab] [--output <file>]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    ...FILTER_FLAGS,
    format: {
      type: "string",
      value: "<format>",
      help: "jsonl (default: what import reads back), csv, cloudevents or iab",
    },
    output: { type: "string", short: "o", value: "<file>", help: "write to this file instead of stdout" },
  },
  examples: [
    "ad-seller-events export --store sqlite:./events.sqlite --output events.jsonl",
    'ad-seller-events export --type "deal.*" --since 2026-11-01T00:00:00Z --format csv > deals.csv',
    "ad-seller-events export --store redis://localhost:6379 | gzip > events.jsonl.gz",
  ],
  async run(context) {
    const format = readFormat(stringFlag(context.args, "format"));
    const query = queryFromFlags(context.args);
    const bus = await context.openStore({ access: "read" });
    const progress = new Progress(context.stderr, "exported");
    const sink = openLineSink(context, stringFlag(context.args, "output"));
    let lastId: string | undefined;
    try {
      const encoder = exportEncoder(format);
      if (encoder.header !== undefined) await sink.write([encoder.header]);
      const lines: string[] = [];
      const walk = walkEventJson(bus, query, context.signal, ({ total }) => progress.expect(total));
      try {
        for await (const json of walk) {
          lines.push(encoder.encode(json));
          lastId = json;
          if (lines.length === WALK_PAGE) await flush(lines);
        }
        await flush(lines);
      } catch (error) {
        throw asUsageError(error);
      }
    } finally {
      await sink.close();
      await bus.close();
      progress.clear();
    }
    const end = lastId === undefined ? "" : `; the last is ${eventIdOf(lastId)}`;
    context.note(summaryLine("export", progress, context.signal.aborted, end));
    return context.signal.aborted ? EXIT_FAILURE : EXIT_OK;

    async function flush(lines: string[]): Promise<void> {
      await sink.write(lines);
      progress.add(lines.length);
      lines.length = 0;
    }
  },
};

function readFormat(text: string | undefined): ExportFormat {
  if (text === undefined) return "jsonl";
  if ((EXPORT_FORMATS as readonly string[]).includes(text)) return text as ExportFormat;
  throw new UsageError(
    "--format",
    `"${text.slice(0, 40)}" is not a format; use jsonl, csv, cloudevents or iab${didYouMean(text, EXPORT_FORMATS)}`,
  );
}
