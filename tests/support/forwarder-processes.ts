// Child forwarder processes (tests/fixtures/forwarder-process.ts) for the SIGKILL tests of tests/interop/.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ForwarderConfig } from "../fixtures/forwarder-process.js";
import { until } from "./brokers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** A running forwarder: how many events it reported sent, and the last event_id it sent. */
export function startForwarder(config: ForwarderConfig) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/fixtures/forwarder-process.ts", JSON.stringify(config)],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const progress = { sent: 0, last: "" as string | undefined, stderr: "" };
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const report = JSON.parse(line) as { sent: number; last?: string };
      progress.sent += report.sent;
      progress.last = report.last;
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    progress.stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    progress,
    /** Waits until it reported `count` events sent (or the last one). */
    sent: (count: number, lastId?: string) =>
      until(
        () => progress.sent >= count || (lastId !== undefined && progress.last === lastId),
        `forwarder ${child.pid} to send ${count} events`,
        () => JSON.stringify(progress),
        30_000,
      ),
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
