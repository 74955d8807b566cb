import { EventValidationError } from "../../errors/error-classes.js";
import { didYouMean } from "../../errors/suggestions.js";
import { createWebhookDispatcher, type WebhookDispatcher } from "../../webhooks/webhook-dispatcher.js";
import type { WebhookRedelivery } from "../../webhooks/webhook-redelivery.js";
import type { WebhookSubscription } from "../../webhooks/webhook-subscription.js";
import { booleanFlag, integerFlag, stringFlag, UsageError } from "../cli-args.js";
import type { Command, CommandContext } from "../command.js";
import { EXIT_FAILURE, EXIT_OK } from "../command.js";

const ACTIONS = ["list", "deliveries", "redeliver"] as const;
type Action = (typeof ACTIONS)[number];

/** The flags of `webhooks`, by the field of the dispatcher's queries each one sets. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  event_id: "--event",
  since: "--since",
  until: "--until",
  limit: "--limit",
};

/** `webhooks list|deliveries|redeliver`: the subscriptions the store keeps, their delivery log, and redelivery. */
export const webhooksCommand: Command = {
  name: "webhooks",
  summary: "list webhook subscriptions (secrets hidden), read a subscription's delivery log, redeliver events",
  usage: "webhooks list | webhooks deliveries <id> [--failed] [--event <id>] | webhooks redeliver <id> <selection>",
  usesStore: true,
  maxPositionals: 2,
  flags: {
    event: { type: "string", value: "<event-id>", help: "deliveries of, or redelivery of, this event only" },
    failed: { type: "boolean", help: "only failed attempts; with redeliver: every event whose delivery gave up" },
    since: { type: "string", value: "<time>", help: "redeliver the events stored from this ISO-8601 time" },
    until: { type: "string", value: "<time>", help: "... up to (not including) this time" },
    limit: { type: "string", value: "<n>", help: "most log entries or events (1 to 1000)" },
    "allow-private-networks": {
      type: "boolean",
      help: "let redeliver reach private and loopback addresses (as the dispatcher's own option)",
    },
  },
  examples: [
    "ad-seller-events webhooks list --store postgres://localhost/seller",
    "ad-seller-events webhooks deliveries buyer-northwind --failed --limit 20",
    "ad-seller-events webhooks redeliver buyer-northwind --failed",
    "ad-seller-events webhooks redeliver buyer-northwind --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z",
  ],
  async run(context) {
    const [action, id] = context.args.positionals;
    if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError("<action>", `webhooks takes list, deliveries or redeliver${didYouMean(action, ACTIONS)}`);
    }
    if (action === "list" && id !== undefined) throw new UsageError(id, "webhooks list takes no subscription id");
    if (action !== "list" && id === undefined)
      throw new UsageError("<id>", `webhooks ${action} needs a subscription id`);
    const bus = await context.openStore({ access: action === "list" ? "read" : "write" });
    // Managing only: this process never runs deliveries of its own, it reads the log and sends redeliveries.
    const dispatcher = createWebhookDispatcher(bus, {
      deliver: false,
      allowPrivateNetworks: booleanFlag(context.args, "allow-private-networks"),
    });
    try {
      return await runAction(context, dispatcher, action as Action, id ?? "");
    } catch (error) {
      throw asFlagError(error);
    } finally {
      await dispatcher.close();
      await bus.close();
    }
  },
};

async function runAction(
  context: CommandContext,
  dispatcher: WebhookDispatcher,
  action: Action,
  id: string,
): Promise<number> {
  const limit = integerFlag(context.args, "limit", 1, 1000);
  if (action === "list") {
    for (const subscription of await dispatcher.list()) await context.print(subscriptionLine(subscription, context));
    return EXIT_OK;
  }
  if ((await dispatcher.get(id)) === null) {
    context.note(`webhooks: no subscription ${id.slice(0, 80)}`);
    return EXIT_FAILURE;
  }
  if (action === "deliveries") {
    const ok = booleanFlag(context.args, "failed") ? false : undefined;
    const entries = await dispatcher.deliveries(id, { event_id: stringFlag(context.args, "event"), ok, limit });
    for (const entry of entries) {
      await context.print(
        context.style.json
          ? JSON.stringify(entry)
          : `${entry.at}  ${entry.ok ? "ok  " : "FAIL"}  ${String(entry.status ?? "-").padEnd(3)}  ` +
              `${entry.kind} ${entry.attempt}  ${entry.event_id ?? ""}  ${entry.error ?? ""}`.trimEnd(),
      );
    }
    return EXIT_OK;
  }
  const result = await dispatcher.redeliver(id, redeliverySelection(context, limit));
  context.note(`webhooks redeliver: ${result.delivered.length} delivered, ${result.failed.length} failed`);
  for (const eventId of result.failed) context.note(`  failed: ${eventId}`);
  return result.failed.length === 0 ? EXIT_OK : EXIT_FAILURE;
}

function redeliverySelection(context: CommandContext, limit: number | undefined): WebhookRedelivery {
  const eventId = stringFlag(context.args, "event");
  const failed = booleanFlag(context.args, "failed");
  const since = stringFlag(context.args, "since");
  const until = stringFlag(context.args, "until");
  const chosen = [eventId !== undefined, failed, since !== undefined || until !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    throw new UsageError("<selection>", "redeliver takes exactly one of --event <id>, --failed, or --since/--until");
  }
  if (failed) return { failed: true, limit };
  return eventId !== undefined ? { event_id: eventId } : { since, until, limit };
}

/** One subscription as a line; its secrets never leave the store through this tool, only how many there are. */
function subscriptionLine(subscription: WebhookSubscription, context: CommandContext): string {
  const { secrets, ...rest } = subscription;
  if (context.style.json) return JSON.stringify({ ...rest, secrets: secrets.length });
  const state = subscription.enabled ? "enabled " : "DISABLED";
  const reason = subscription.disabled_reason === null ? "" : `  (${subscription.disabled_reason})`;
  return `${subscription.id}  ${state}  ${subscription.format}  ${subscription.event_types.join(",")}  ${subscription.url}${reason}`;
}

/** A validation error of the dispatcher, restated as a usage error naming the flag its field came from. */
function asFlagError(error: unknown): unknown {
  if (!(error instanceof EventValidationError)) return error;
  const flag = FLAG_OF_FIELD[String(error.issues[0]?.path[0] ?? "")];
  return flag === undefined ? error : new UsageError(flag, error.issues[0]?.message ?? error.message);
}
