import type { EventBus } from "../../bus/event-bus.js";
import {
  AUDIT_EVENT_TYPES,
  describeBadPattern,
  EVENT_TYPES,
  type EventType,
  typesMatching,
} from "../../event/event-type.js";
import { normalizeTimestamp } from "../../event/timestamp.js";
import type { PruneHold, PruneOptions } from "../../storage/types.js";
import { booleanFlag, listFlag, type ParsedArgs, refuseTogether, stringFlag, UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { countMatches } from "../event-walk.js";
import { formatCount, Progress } from "../progress.js";
import { summaryLine } from "../summary.js";

const UNIT_MS: Readonly<Record<string, number>> = { s: 1e3, m: 60e3, h: 3600e3, d: 86_400e3, w: 604_800e3 };

/** Thrown from `onBatch` to stop a prune between two batches (each batch is committed on its own). */
class PruneStopped extends Error {}

/** `prune`: retention, tried dry first. */
export const pruneCommand: Command = {
  name: "prune",
  summary: "delete old events (audit types kept unless named); a dry run that only counts unless --yes",
  usage: "prune (--before <time> | --older-than <age>) [--type <type>...] [--ignore-consumers] [--dry-run | --yes]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    before: { type: "string", value: "<time>", help: "delete events stamped before this ISO-8601 time" },
    "older-than": { type: "string", value: "<age>", help: "or: before now minus this age, e.g. 90d, 12h, 2w" },
    type: {
      type: "string",
      multiple: true,
      value: "<type>",
      help: "types or patterns that may go (default: every type but the audit types)",
    },
    yes: { type: "boolean", short: "y", help: "really delete (without it, only count what would go)" },
    "dry-run": { type: "boolean", help: "only count what would go (the default; refuses --yes)" },
    "ignore-consumers": {
      type: "boolean",
      help: "also delete what live durable consumers have not handled yet (kept by default)",
    },
  },
  examples: [
    "ad-seller-events prune --older-than 90d --store sqlite:./events.sqlite",
    "ad-seller-events prune --older-than 90d --store sqlite:./events.sqlite --yes",
    "ad-seller-events prune --older-than 400d --ignore-consumers --dry-run --store sqlite:./events.sqlite",
    'ad-seller-events prune --before 2026-01-01T00:00:00Z --type "session.*" --yes',
  ],
  async run(context) {
    const before = readBefore(context.args);
    const types = readTypes(listFlag(context.args, "type"));
    const yes = booleanFlag(context.args, "yes");
    if (yes && booleanFlag(context.args, "dry-run")) {
      throw new UsageError("--dry-run", "cannot be used with --yes: one only counts, the other deletes");
    }
    const rule: PruneRule = {
      before,
      types,
      consumers: booleanFlag(context.args, "ignore-consumers") ? "ignore" : "hold",
      onHold: (holds) => noteHolds(context, holds),
    };
    const bus = await context.openStore({ access: "read" });
    try {
      const prune = bus.storage.prune?.bind(bus.storage);
      if (prune === undefined) {
        context.note(`prune: the ${bus.storage.name} store has no retention support`);
        return EXIT_FAILURE;
      }
      const total = await printCounts(context, bus, before, types);
      if (!yes) {
        const going = context.signal.aborted ? total : await prune({ ...rule, dryRun: true });
        const held = total > going ? ` (${formatCount(total - going)} more held back for consumers)` : "";
        context.note(
          `prune: dry run: ${formatCount(going)} events stamped before ${before} would go${held}; add --yes to delete them`,
        );
        return context.signal.aborted ? EXIT_FAILURE : EXIT_OK;
      }
      return await deleteEvents(context, prune, rule, total);
    } finally {
      await bus.close();
    }
  },
};

/** What both the dry run and the deletion ask the store for. */
type PruneRule = Pick<PruneOptions, "consumers" | "onHold"> & {
  readonly before: string;
  readonly types: readonly EventType[];
};

/** One line per consumer that keeps events back, so that a smaller count than expected explains itself. */
function noteHolds(context: CommandContext, holds: readonly PruneHold[]): void {
  for (const hold of holds) {
    const from = hold.from === null ? "all of them (no checkpoint yet)" : `those stamped from ${hold.from}`;
    context.note(
      `prune: consumer "${hold.name}" keeps ${from} of ${hold.types.length} type(s); --ignore-consumers overrides`,
    );
  }
}

/** Prints how many events of each type would go; resolves with the sum. */
async function printCounts(context: CommandContext, bus: EventBus, before: string, types: readonly EventType[]) {
  let total = 0;
  for (const type of types) {
    if (context.signal.aborted) break;
    const count = await countMatches(bus, { event_type: type, until: before }, context.signal);
    total += count;
    if (count === 0) continue;
    const line = context.style.json
      ? JSON.stringify({ event_type: type, events: count, before })
      : `${type.padEnd(22)}${formatCount(count).padStart(12)}`;
    await context.print(line);
  }
  return total;
}

async function deleteEvents(
  context: CommandContext,
  prune: (options: PruneOptions) => Promise<number>,
  rule: PruneRule,
  total: number,
): Promise<number> {
  const progress = new Progress(context.stderr, "deleted");
  progress.expect(total);
  try {
    await prune({
      ...rule,
      onBatch: (deleted) => {
        progress.add(deleted - progress.count);
        if (context.signal.aborted) throw new PruneStopped();
      },
    });
  } catch (error) {
    if (!(error instanceof PruneStopped)) throw error;
  } finally {
    progress.clear();
  }
  context.note(summaryLine("prune", progress, context.signal.aborted, ` deleted, stamped before ${rule.before}`));
  return context.signal.aborted ? EXIT_FAILURE : EXIT_OK;
}

function readBefore(args: ParsedArgs): string {
  refuseTogether(args, "before", "older-than", "give one of them");
  const before = stringFlag(args, "before");
  const age = stringFlag(args, "older-than");
  if (before !== undefined) {
    const timestamp = normalizeTimestamp(before);
    if (timestamp === null) throw new UsageError("--before", `must be an ISO-8601 time, got "${before.slice(0, 40)}"`);
    return timestamp;
  }
  if (age === undefined) throw new UsageError("--before", "prune needs --before <time> or --older-than <age>");
  const match = /^(\d{1,6})([smhdw])$/.exec(age);
  if (match === null)
    throw new UsageError(
      "--older-than",
      `must be a number and a unit (s, m, h, d, w), e.g. 90d; got "${age.slice(0, 40)}"`,
    );
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  return new Date(Date.now() - ms).toISOString();
}

function readTypes(given: readonly string[]): readonly EventType[] {
  if (given.length === 0) {
    const audit = new Set<string>(AUDIT_EVENT_TYPES);
    return EVENT_TYPES.filter((type) => !audit.has(type));
  }
  const types = new Set<EventType>();
  for (const value of given) {
    const matched = typesMatching(value);
    if (matched === undefined) throw new UsageError("--type", describeBadPattern(value));
    for (const type of matched) types.add(type);
  }
  return [...types];
}
