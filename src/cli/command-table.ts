import type { Command } from "./command.js";
import { consumersCommand } from "./commands/consumers-command.js";
import { exportCommand } from "./commands/export-command.js";
import { getCommand } from "./commands/get-command.js";
import { importCommand } from "./commands/import-command.js";
import { listCommand } from "./commands/list-command.js";
import { outboxCommand } from "./commands/outbox-command.js";
import { pruneCommand } from "./commands/prune-command.js";
import { serveCommand } from "./commands/serve-command.js";
import { tailCommand } from "./commands/tail-command.js";
import { verifyCommand } from "./commands/verify-command.js";
import { webhooksCommand } from "./commands/webhooks-command.js";

/** Every command, in the order `--help` lists them. A new command is one file in commands/ and one line here. */
export const COMMANDS: readonly Command[] = [
  listCommand,
  getCommand,
  tailCommand,
  exportCommand,
  importCommand,
  pruneCommand,
  consumersCommand,
  outboxCommand,
  webhooksCommand,
  verifyCommand,
  serveCommand,
];
