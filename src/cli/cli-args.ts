import { parseArgs } from "node:util";
import { closestName } from "../errors/suggestions.js";

/** One flag of a command, in the shape `node:util` `parseArgs` takes, plus its help text. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in help, e.g. `<url>`; absent for boolean flags. */
  readonly value?: string;
  readonly help: string;
}

/** Flags by long name (without the leading `--`). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** What the user typed after the command name, parsed against the command's flags. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * A mistake in how the command was called: printed as one line and the process exits with 2. `flag` names the flag
 * (or argument) at fault so that the line starts with it.
 */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
  }
}

/**
 * Parses `args` with `node:util` `parseArgs` (strict), turning its errors into {@link UsageError}s that name the flag
 * and suggest the closest known one for a typo.
 */
export function parseFlags(command: string, args: readonly string[], flags: FlagSpecs, maxPositionals: number) {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) };
    if (spec.short !== undefined) (options[name] as { short?: string }).short = spec.short;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw rewriteParseError(command, error, flags);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals[maxPositionals] as string;
    const hint = extra.startsWith("-") ? "" : `; see ad-seller-events ${command} --help`;
    throw new UsageError(extra, `unexpected argument for "${command}"${hint}`);
  }
  return { values: parsed.values, positionals: parsed.positionals } as ParsedArgs;
}

/** The text of a string flag, or `undefined`. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Refuses two flags given together; `instead` tells the user what to do (`"page one way at a time"`). */
export function refuseTogether(args: ParsedArgs, first: string, second: string, instead: string): void {
  if (args.values[first] !== undefined && args.values[second] !== undefined) {
    throw new UsageError(`--${second}`, `cannot be used with --${first}; ${instead}`);
  }
}

/** Every value of a repeatable string flag, comma lists split (`--type a,b --type c`). */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  const given = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  return given.flatMap((item) => item.split(",")).filter((item) => item !== "");
}

/** A boolean flag's value (absent: false). */
export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A whole number within bounds, or a {@link UsageError} naming the flag. */
export function integerFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new UsageError(`--${name}`, `must be a whole number from ${min} to ${max}, got "${text.slice(0, 40)}"`);
  }
  return value;
}

function rewriteParseError(command: string, error: unknown, flags: FlagSpecs): Error {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? "argument";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const name = flag.replace(/^-+/, "").split("=")[0] ?? "";
    const close = closestName(name, Object.keys(flags));
    const hint = close === undefined ? `; see ad-seller-events ${command} --help` : `; did you mean --${close}?`;
    return new UsageError(flag, `unknown flag for "${command}"${hint}`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const spec = flags[flag.replace(/^-+/, "")];
    const what = spec?.type === "boolean" ? "takes no value" : `needs a value ${spec?.value ?? ""}`.trimEnd();
    return new UsageError(flag, what);
  }
  return new UsageError("argument", message);
}
