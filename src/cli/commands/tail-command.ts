import { EventGapError } from "../../errors/error-classes.js";
import { wireJson } from "../../storage/kit/stored-event.js";
import { refuseTogether, stringFlag } from "../cli-args.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { eventLine } from "../event-lines.js";
import { formatCount } from "../progress.js";
import { asUsageError, FILTER_FLAGS, queryFromFlags } from "../query-flags.js";

const { until: _until, ...TAIL_FILTERS } = FILTER_FLAGS;
/** A start before any event: with `since` the tail begins at the oldest match. */
const BEGINNING = "1970-01-01T00:00:00.000Z";

/** `tail`: follows the store until Ctrl-C, like `tail -f`. */
export const tailCommand: Command = {
  name: "tail",
  summary: "follow new events as any process appends them, until Ctrl-C",
  usage: "tail [filters] [--after <id> | --since <time>]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    ...TAIL_FILTERS,
    since: { type: "string", value: "<time>", help: "start with the events stamped at or after this time" },
    after: { type: "string", value: "<id>", help: "start after this event (resume where you left off)" },
  },
  examples: [
    "ad-seller-events tail --store postgres://localhost/seller",
    'ad-seller-events tail --type "negotiation.*" --session s-1',
    "ad-seller-events tail --after 8d986cbc-d95f-45b4-9397-6fd34085d7b6 --json >> events.jsonl",
  ],
  async run(context) {
    const { args, signal } = context;
    refuseTogether(args, "after", "since", "the tail starts at one of them");
    let after = stringFlag(args, "after");
    const since = stringFlag(args, "since");
    const bus = await context.openStore({ access: "read" });
    let count = 0;
    try {
      // With neither, start after the newest event now, so "from now on" is exactly what was printed as started.
      const query = queryFromFlags(args);
      if (after === undefined && since === undefined) after = (await bus.listEvents({ limit: 1 }))[0]?.event_id;
      const start = after !== undefined ? { after } : { since: since ?? BEGINNING };
      const tail = bus.tail({ ...query, ...start }, { signal, onError: (error) => reportOutage(context, error) });
      context.note(`tail: following ${describeFilters(args.values)}(Ctrl-C to stop)`);
      try {
        for await (const event of tail) {
          await context.print(eventLine(event, wireJson(event), context.style));
          count += 1;
        }
      } catch (error) {
        if (error instanceof EventGapError) throw error;
        throw asUsageError(error);
      }
      context.note(`tail: stopped after ${formatCount(count)} events`);
      return EXIT_OK;
    } finally {
      await bus.close();
    }
  },
};

function reportOutage(context: { note(line: string): void }, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  context.note(`tail: the store failed, retrying: ${message.split("\n")[0]}`);
}

function describeFilters(values: Readonly<Record<string, unknown>>): string {
  const shown = Object.entries(values)
    .filter(([name, value]) => name in TAIL_FILTERS && value !== undefined)
    .map(([name, value]) => `--${name} ${Array.isArray(value) ? value.join(",") : String(value)}`);
  return shown.length === 0 ? "every event " : `${shown.join(" ")} `;
}
