#!/usr/bin/env node
// The command line (DESIGN section 24): `npx ad-seller-events <command>`. The work is in cli-main.ts; this file wires
// it to the process: arguments, streams, Ctrl-C and the exit code.
import { runCli } from "./cli-main.js";

const controller = new AbortController();
let interrupts = 0;
const interrupt = () => {
  interrupts += 1;
  // The first Ctrl-C stops the command cleanly (it prints its summary); a second one stops at once.
  if (interrupts > 1) process.exit(1);
  controller.abort();
};
process.on("SIGINT", interrupt);
process.on("SIGTERM", interrupt);
// `ad-seller-events export | head`: the reader went away; stop as if interrupted, without an EPIPE stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") controller.abort();
});

runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ad-seller-events: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
