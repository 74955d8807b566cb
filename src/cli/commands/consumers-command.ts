import type { EventBus } from "../../bus/event-bus.js";
import { EventGapError } from "../../errors/error-classes.js";
import { didYouMean } from "../../errors/suggestions.js";
import type { EventQuery } from "../../event/query.js";
import type { CheckpointStore } from "../../storage/types.js";
import { UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { countMatches, WALK_PAGE } from "../event-walk.js";
import { formatCount } from "../progress.js";
import { asUsageError, FILTER_FLAGS, queryFromFlags } from "../query-flags.js";

const ACTIONS = ["status", "dead-letters"] as const;

/** `consumers status|dead-letters <name>...`: what the checkpoint store keeps for durable consumers. */
export const consumersCommand: Command = {
  name: "consumers",
  summary: "show durable consumers by name: position, lag and dead letters (status), or the dead letters in full",
  usage: "consumers status <name>... [filters] | consumers dead-letters <name>",
  usesStore: true,
  maxPositionals: 20,
  flags: { type: FILTER_FLAGS.type as (typeof FILTER_FLAGS)[string] },
  examples: [
    "ad-seller-events consumers status warehouse-export crm-sync --store postgres://localhost/seller",
    'ad-seller-events consumers status warehouse-export --type "deal.*"   # lag counted over the consumer\'s types',
    "ad-seller-events consumers dead-letters warehouse-export --json",
  ],
  async run(context) {
    const [action, ...names] = context.args.positionals;
    if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
      const hint = didYouMean(action, ACTIONS);
      throw new UsageError("<action>", `consumers takes status or dead-letters${hint}`);
    }
    if (names.length === 0) {
      throw new UsageError(
        "<name>",
        "name the consumers (the store keeps no list of names): consumers status <name>...",
      );
    }
    if (action === "dead-letters" && names.length > 1)
      throw new UsageError(names[1] as string, "dead-letters takes one name");
    const query = queryFromFlags(context.args, ["type"]);
    const bus = await context.openStore({ access: "read" });
    try {
      const checkpoints = bus.storage.checkpoints;
      if (checkpoints === undefined) {
        context.note(`consumers: the ${bus.storage.name} store keeps no consumer checkpoints`);
        return EXIT_FAILURE;
      }
      if (action === "dead-letters") return await printDeadLetters(context, checkpoints, names[0] as string);
      for (const name of names) await printStatus(context, bus, checkpoints, name, query);
      return EXIT_OK;
    } finally {
      await bus.close();
    }
  },
};

async function printStatus(
  context: CommandContext,
  bus: EventBus,
  checkpoints: CheckpointStore,
  name: string,
  query: EventQuery,
): Promise<void> {
  const position = await checkpoints.readCheckpoint(name);
  const deadLetters = (await checkpoints.deadLetters(name)).length;
  let lag: number | null;
  let note = "";
  try {
    lag = position === null ? await countMatches(bus, query, context.signal) : await countAfter(bus, query, position);
  } catch (error) {
    if (!(error instanceof EventGapError)) throw asUsageError(error);
    lag = null;
    note = 'its position was pruned: it fails with a gap until it moves on (onGap: "oldest")';
  }
  if (context.style.json) {
    await context.print(JSON.stringify({ name, position, lag, dead_letters: deadLetters }));
    return;
  }
  const shownLag = lag === null ? "unknown" : formatCount(lag);
  const where = position ?? "(no checkpoint: starts at its from option)";
  await context.print(`${name}  position ${where}  lag ${shownLag}  dead letters ${formatCount(deadLetters)}`);
  if (note !== "") context.note(`consumers: ${name}: ${note}`);
}

/** Events after `position` that match: one read per thousand. */
async function countAfter(bus: EventBus, query: EventQuery, position: string): Promise<number> {
  let count = 0;
  let after = position;
  for (;;) {
    const page = await bus.listEvents({ ...query, after, limit: WALK_PAGE });
    count += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < WALK_PAGE) return count;
    after = last.event_id;
  }
}

async function printDeadLetters(context: CommandContext, checkpoints: CheckpointStore, name: string) {
  const letters = await checkpoints.deadLetters(name);
  for (const letter of letters) {
    await context.print(
      context.style.json ? JSON.stringify(letter) : `${letter.failed_at}  ${letter.event_id}  ${letter.error}`,
    );
  }
  if (!context.style.json) context.note(`consumers: ${name} has ${formatCount(letters.length)} dead letters`);
  return EXIT_OK;
}
