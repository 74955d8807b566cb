import { once } from "node:events";
import { StorageError } from "../errors/error-classes.js";
import { closestName } from "../errors/suggestions.js";
import { booleanFlag, type FlagSpecs, parseFlags, stringFlag, UsageError } from "./cli-args.js";
import type { Command, CommandContext, OutputStream } from "./command.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./command.js";
import { COMMANDS } from "./command-table.js";
import { lineStyle } from "./event-lines.js";
import { COMMON_FLAGS, commandHelp, STORE_FLAGS, toolHelp } from "./help-text.js";
import { openStore, redact, STORE_ENV, StoreOpenError } from "./store-url.js";

/** The process around a run: streams, environment and the signal that Ctrl-C aborts. */
export interface CliProcess {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

/** Runs one command line (`argv` without node and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliProcess): Promise<number> {
  const [name, ...rest] = argv;
  const fail = (line: string) => io.stderr.write(`ad-seller-events${line}\n`);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(`${toolHelp(COMMANDS)}\n`);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    const close = closestName(
      name,
      COMMANDS.map((candidate) => candidate.name),
    );
    const hint = close === undefined ? "; run ad-seller-events --help for the list" : `; did you mean ${close}?`;
    fail(`: ${name.slice(0, 40)}: unknown command${hint}`);
    return EXIT_USAGE;
  }
  try {
    return await runCommand(command, rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      fail(` ${command.name}: ${error.message}`);
      return EXIT_USAGE;
    }
    fail(` ${command.name}: ${oneLine(error)}`);
    return EXIT_FAILURE;
  }
}

async function runCommand(command: Command, argv: readonly string[], io: CliProcess): Promise<number> {
  const flags: FlagSpecs = { ...command.flags, ...(command.usesStore ? STORE_FLAGS : {}), ...COMMON_FLAGS };
  const args = parseFlags(command.name, argv, flags, command.maxPositionals);
  if (booleanFlag(args, "help")) {
    io.stdout.write(`${commandHelp(command, flags)}\n`);
    return EXIT_OK;
  }
  const context: CommandContext = {
    args,
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    style: lineStyle(booleanFlag(args, "json"), io.stdout, io.env),
    signal: io.signal,
    openStore: (rules) =>
      openStore({ url: storeUrl(), table: stringFlag(args, "table"), prefix: stringFlag(args, "prefix") }, rules),
    print: (line) => write(io.stdout, `${line}\n`, io.signal),
    note: (line) => {
      io.stderr.write(`${line}\n`);
    },
  };
  try {
    return await command.run(context);
  } catch (error) {
    // A store that fails mid-command (unreachable server, refused login, missing table) is named like a flag.
    if (error instanceof StorageError) throw new StoreOpenError(`--store ${redact(storeUrl())}: ${oneLine(error)}`);
    throw error;
  }

  function storeUrl(): string {
    const url = stringFlag(args, "store") ?? io.env[STORE_ENV];
    if (url === undefined || url === "") {
      throw new UsageError("--store", `name the store, e.g. --store sqlite:./events.sqlite, or set ${STORE_ENV}`);
    }
    return url;
  }
}

/** Writes and, when the stream's buffer is full, waits for it to drain (or for Ctrl-C). */
async function write(stream: OutputStream, text: string, signal: AbortSignal): Promise<void> {
  if (stream.write(text) || signal.aborted) return;
  await once(stream as unknown as NodeJS.EventEmitter, "drain", { signal }).catch(() => undefined);
}

/** An error as one line without the library's `[ad-seller-events]` prefix (the line already starts with the tool). */
function oneLine(error: unknown): string {
  const text = error instanceof StoreOpenError || error instanceof Error ? error.message : String(error);
  return (text.split("\n")[0] ?? "").replace(/^\[ad-seller-events\] /, "");
}
