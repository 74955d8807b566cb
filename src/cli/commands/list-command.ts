import type { Event } from "../../event/event.js";
import { integerFlag, refuseTogether, stringFlag } from "../cli-args.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { eventLine } from "../event-lines.js";
import { asUsageError, FILTER_FLAGS, queryFromFlags } from "../query-flags.js";

/** `list`: one page of events, as `GET /events` answers it. */
export const listCommand: Command = {
  name: "list",
  summary: "print one page of events (the newest, or a window by cursor), oldest first",
  usage: "list [filters] [--limit <n>] [--after <id> | --before <id>]",
  usesStore: true,
  maxPositionals: 0,
  flags: {
    ...FILTER_FLAGS,
    limit: { type: "string", value: "<n>", help: "events on the page, 1 to 1000 (default 50)" },
    after: { type: "string", value: "<id>", help: "the first events appended after this one" },
    before: { type: "string", value: "<id>", help: "the newest events appended before this one" },
  },
  examples: [
    "ad-seller-events list --store sqlite:./events.sqlite",
    'ad-seller-events list --type "deal.*" --deal d-1 --limit 100',
    "ad-seller-events list --session s-1 --since 2026-11-24T00:00:00Z --json | jq .payload",
  ],
  async run(context) {
    const { args } = context;
    refuseTogether(args, "after", "before", "page one way at a time");
    const limit = integerFlag(args, "limit", 1, 1000);
    const after = stringFlag(args, "after");
    const before = stringFlag(args, "before");
    const query = {
      ...queryFromFlags(args),
      ...(limit === undefined ? {} : { limit }),
      ...(after === undefined ? {} : { after }),
      ...(before === undefined ? {} : { before }),
    };
    const bus = await context.openStore({ access: "read" });
    try {
      const page = await bus.listEventsJsonPage(query).catch((error: unknown) => {
        throw asUsageError(error);
      });
      for (const json of page.json) {
        await context.print(eventLine(JSON.parse(json) as Event, json, context.style));
      }
      if (page.has_more && !context.style.json) {
        context.note(`(more events match; page with --${after === undefined ? "before" : "after"})`);
      }
      return EXIT_OK;
    } finally {
      await bus.close();
    }
  },
};
