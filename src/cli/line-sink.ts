import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { CommandContext } from "./command.js";

/** Where a command writes many lines: stdout, or a file (`--output`). Writes wait for the reader (bounded memory). */
export interface LineSink {
  /** Writes the lines, each followed by a newline, in one chunk. */
  write(lines: readonly string[]): Promise<void>;
  /** Flushes and closes a file; stdout stays open. */
  close(): Promise<void>;
}

/** A sink for `--output <file>` (created or truncated, mode 0600), or stdout when no path is given. */
export function openLineSink(context: CommandContext, path: string | undefined): LineSink {
  if (path === undefined) {
    return {
      write: (lines) => (lines.length === 0 ? Promise.resolve() : context.print(lines.join("\n"))),
      close: () => Promise.resolve(),
    };
  }
  const file = createWriteStream(path, { mode: 0o600 });
  let failure: Error | undefined;
  file.on("error", (error) => {
    failure = error;
  });
  return {
    async write(lines) {
      if (failure !== undefined) throw failure;
      if (lines.length === 0) return;
      // `once` rejects when the stream emits "error" meanwhile, and leaves no listener behind either way.
      if (!file.write(`${lines.join("\n")}\n`)) await once(file, "drain");
      if (failure !== undefined) throw failure;
    },
    async close() {
      file.end();
      await once(file, "close");
      if (failure !== undefined) throw failure;
    },
  };
}
