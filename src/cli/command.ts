import type { EventBus } from "../bus/event-bus.js";
import type { FlagSpecs, ParsedArgs } from "./cli-args.js";
import type { LineStyle } from "./event-lines.js";
import type { OpenStoreRules } from "./store-url.js";

/** A stream the command writes to: stdout or stderr, or a test's stand-in. */
export interface OutputStream {
  write(text: string): boolean;
  once(event: "drain", listener: () => void): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What a command gets to work with; everything outside the process (store, streams, signals) comes through here. */
export interface CommandContext {
  readonly args: ParsedArgs;
  /** Standard input, for `import -`. */
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  /** How events are printed on stdout (`--json`, a terminal, `NO_COLOR`). */
  readonly style: LineStyle;
  /** Aborts on the first Ctrl-C (SIGINT or SIGTERM), or when stdout's reader went away (EPIPE). */
  readonly signal: AbortSignal;
  /** Opens the store `--store` (or `AD_SELLER_EVENTS_STORE`) names; the caller closes the bus. */
  openStore(rules: OpenStoreRules): Promise<EventBus>;
  /** Writes a line to stdout, waiting while the reader is slower than us (so memory stays flat). */
  print(line: string): Promise<void>;
  /** Writes a line to stderr: summaries, warnings. */
  note(line: string): void;
}

/**
 * One command of the tool. The table in `command-table.ts` lists them; adding a command (`webhooks`, `verify`) is one
 * new file exporting one of these and one line in the table.
 */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The synopsis after `ad-seller-events`, e.g. `get <event-id>`. */
  readonly usage: string;
  /** The command's own flags; the store flags and `--json`/`--help` are added to every command that opens a store. */
  readonly flags: FlagSpecs;
  /** Whether the command works on a store (adds `--store`, `--table`, `--prefix`). */
  readonly usesStore: boolean;
  /** Most positional arguments it takes. */
  readonly maxPositionals: number;
  /** Shell lines shown under "Examples" in its help. */
  readonly examples: readonly string[];
  /** Runs it; resolves with the exit code (0 ok, 1 failure; usage errors are thrown as `UsageError`). */
  run(context: CommandContext): Promise<number>;
}

/** Exit codes: the work was done; it failed or was cut short; the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
