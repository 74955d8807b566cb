import type { FlagSpecs } from "./cli-args.js";
import type { Command } from "./command.js";
import { STORE_ENV } from "./store-url.js";

/** Flags every command that works on a store takes. */
export const STORE_FLAGS: FlagSpecs = {
  store: {
    type: "string",
    short: "s",
    value: "<url>",
    help: `the store: sqlite:<file>, postgres://..., redis://... (default: $${STORE_ENV})`,
  },
  table: { type: "string", value: "<name>", help: "table of a sqlite: or postgres:// store (default events)" },
  prefix: { type: "string", value: "<prefix>", help: "key prefix of a redis:// store (default ad_seller:)" },
};

/** Flags of every command. */
export const COMMON_FLAGS: FlagSpecs = {
  json: { type: "boolean", help: "print JSON Lines even on a terminal (the default when piped)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

/** `ad-seller-events --help`: every command with its summary. */
export function toolHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  return [
    "ad-seller-events: look at, move and repair the events of a store from a terminal",
    "",
    "Usage: ad-seller-events <command> [flags]",
    "",
    "Commands:",
    ...commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    "",
    "The store: --store <url> or the environment variable AD_SELLER_EVENTS_STORE, e.g.",
    "  sqlite:./events.sqlite   postgres://user@host:5432/db   redis://host:6379",
    "",
    "On a terminal events print as aligned lines (local times, colour unless NO_COLOR is set); piped, as JSON Lines.",
    "Exit codes: 0 done, 1 failed (or stopped by Ctrl-C before the end), 2 wrong command line.",
    "",
    "Run ad-seller-events <command> --help for its flags and examples.",
  ].join("\n");
}

/** `ad-seller-events <command> --help`: synopsis, flags, examples. */
export function commandHelp(command: Command, flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const short = spec.short === undefined ? "    " : `-${spec.short}, `;
    const repeat = spec.multiple === true ? "..." : "";
    return [`  ${short}--${name}${spec.value === undefined ? "" : ` ${spec.value}`}${repeat}`, spec.help] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `ad-seller-events ${command.name}: ${command.summary}`,
    "",
    `Usage: ad-seller-events ${command.usage}`,
    "",
    "Flags:",
    ...rows.map(([left, help]) => `${left.padEnd(width)}${help}`),
    "",
    "Examples:",
    ...command.examples.map((example) => `  ${example}`),
  ].join("\n");
}
