import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");

it("runs the README quick start as written and prints what its comments say", async () => {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code?.split("\n").length).toBeLessThanOrEqual(22);
  const scratch = join(root, ".scratch");
  await mkdir(scratch, { recursive: true });
  const file = join(scratch, "quick-start.mts");
  await writeFile(file, code as string);
  const { stdout } = await run(process.execPath, ["--import", "tsx", file], { cwd: root });
  expect(stdout.trim().split("\n")).toEqual([
    "deal event: deal.created deal-1",
    "[ 1, 2 ]",
    "{ cpm: 10.5 }",
    "EventValidationError: [ad-seller-events] limit: must be an integer from 1 to 1000, got 0",
  ]);
}, 60_000);
