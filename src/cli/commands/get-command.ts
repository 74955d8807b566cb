import type { Event } from "../../event/event.js";
import { UsageError } from "../cli-args.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";
import { eventBlock } from "../event-lines.js";

/** `get <id>`: one event in full. */
export const getCommand: Command = {
  name: "get",
  summary: "print one event by its event_id (exit 1 when the store does not hold it)",
  usage: "get <event-id>",
  usesStore: true,
  maxPositionals: 1,
  flags: {},
  examples: [
    "ad-seller-events get 8d986cbc-d95f-45b4-9397-6fd34085d7b6 --store sqlite:./events.sqlite",
    "ad-seller-events get 8d986cbc-d95f-45b4-9397-6fd34085d7b6 --json | jq .payload",
  ],
  async run(context) {
    const [id] = context.args.positionals;
    if (id === undefined) throw new UsageError("<event-id>", "get needs the event_id to print");
    const bus = await context.openStore({ access: "read" });
    try {
      const json = await bus.getEventJson(id);
      if (json === null) {
        context.note(`get: the store holds no event ${id.slice(0, 80)}`);
        return EXIT_FAILURE;
      }
      await context.print(eventBlock(JSON.parse(json) as Event, json, context.style));
      return EXIT_OK;
    } finally {
      await bus.close();
    }
  },
};
