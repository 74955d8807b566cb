// docs/cli.md runs as written: every ```sh block (not the ```sh follow ones, which run until Ctrl-C) runs in bash,
// in an empty folder holding the Python agent's audit_fallback.jsonl, with the built binary on PATH.
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltCli, buildCli, cliEnv } from "./cli-process.js";

const root = resolve(import.meta.dirname, "../..");
const page = await readFile(join(root, "docs/cli.md"), "utf8");
const blocks = [...page.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
let cli: BuiltCli;
let bin: string;

beforeAll(async () => {
  cli = await buildCli();
  bin = join(cli.folder, "bin");
  await import("node:fs/promises").then(({ mkdir }) => mkdir(bin));
  const wrapper = join(bin, "ad-seller-events");
  await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${cli.path}" "$@"\n`);
  await chmod(wrapper, 0o755);
}, 60_000);

afterAll(async () => {
  await cli?.remove();
});

describe("docs/cli.md", () => {
  it("has runnable sh blocks", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });

  blocks.forEach((block, index) => {
    it(`sh block ${index + 1} runs with exit 0: ${block.split("\n").find((line) => !line.startsWith("export"))}`, async () => {
      const folder = await mkdtemp(join(tmpdir(), "cli-docs-"));
      try {
        // The shared fixture without its torn last line: what a Python agent that did not crash mid-write leaves.
        const fixture = await readFile(join(root, "tests/fixtures/python-audit-fallback.jsonl"), "utf8");
        await writeFile(join(folder, "audit_fallback.jsonl"), `${fixture.split("\n").slice(0, -1).join("\n")}\n`);
        const env = cliEnv({ PATH: `${bin}:${process.env.PATH ?? ""}` });
        const run = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", block], { cwd: folder, env }).catch(
          (error: { code: number; stderr: string }) => ({ stdout: "", stderr: `exit ${error.code}: ${error.stderr}` }),
        );
        expect(run.stderr).not.toMatch(/^exit \d+:/);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    }, 30_000);
  });
});
