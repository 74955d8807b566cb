import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "tsup";

const root = resolve(import.meta.dirname, "../..");

/** The built binary of this test file: `src/cli/index.ts` bundled by tsup as `dist/cli.js` is, into a private folder. */
export interface BuiltCli {
  readonly path: string;
  readonly folder: string;
  remove(): Promise<void>;
}

/**
 * Builds the CLI once per test file (about a second: the one entry, ESM, no type declarations), under the repo's
 * ignored `.scratch/` so that the drivers and zod resolve from its node_modules as they do for an installed package.
 */
export async function buildCli(): Promise<BuiltCli> {
  // .scratch is git-ignored: a fresh clone has none until the first build makes it.
  await mkdir(join(root, ".scratch"), { recursive: true });
  const folder = await mkdtemp(join(root, ".scratch", "cli-"));
  await build({
    config: false,
    entry: { cli: "src/cli/index.ts" },
    format: ["esm"],
    outDir: folder,
    dts: false,
    splitting: false,
    silent: true,
    target: "node20",
    external: ["zod", "pg", "ioredis", "better-sqlite3", "node:sqlite"],
    noExternal: ["nanoid"],
  });
  return { path: join(folder, "cli.js"), folder, remove: () => rm(folder, { recursive: true, force: true }) };
}

/** What a finished run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment of a run: no store variable, no colour preference, UTC, unless the test sets them. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { AD_SELLER_EVENTS_STORE: _store, NO_COLOR: _noColor, ...rest } = process.env;
  return { ...rest, TZ: "UTC", ...extra };
}

/** Starts the binary; stdout and stderr are pipes (so output is JSON Lines unless the test says otherwise). */
export function startCli(
  cli: BuiltCli,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [cli.path, ...args], { cwd: options.cwd ?? cli.folder, env: options.env ?? cliEnv() });
}

/** Runs the binary to the end. */
export async function runCli(
  cli: BuiltCli,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const child = startCli(cli, args, options);
  return finish(child);
}

/** Collects a started child's output until it exits. */
export async function finish(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** Resolves with everything a stream printed once `predicate` holds for it (the stream keeps flowing). */
export function waitForOutput(stream: NodeJS.ReadableStream, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let text = "";
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (!predicate(text)) return;
      stream.off("data", onData);
      resolvePromise(text);
    };
    stream.on("data", onData);
    stream.once("end", () => reject(new Error(`the stream ended before the expected output; it printed: ${text}`)));
  });
}
