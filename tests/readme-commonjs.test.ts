import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// Issue 19: the README's samples use top-level await, which a project made by a plain `npm init` (CommonJS) cannot
// run; the README says to use "type": "module" or .mts. This checks both halves of that sentence.
const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
let folder = "";
afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** Runs `file` in `folder` with tsx (esbuild), "ad-seller-events" resolving to this checkout's sources. */
async function runSample(file: string): Promise<{ ok: boolean; output: string }> {
  const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
  const env = { ...process.env, TSX_TSCONFIG_PATH: join(root, "tsconfig.json") };
  try {
    const { stdout } = await run(process.execPath, [tsx, join(folder, file)], { cwd: folder, env });
    return { ok: true, output: stdout };
  } catch (error) {
    const { stdout, stderr } = error as { stdout: string; stderr: string };
    return { ok: false, output: `${stdout}${stderr}` };
  }
}

describe("the README's Quick start in a new user's project", () => {
  it("fails as a .ts file of a default (CommonJS) project and runs as .mts, as the README says", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const quickStart = readme.slice(readme.indexOf("## Quick start"));
    const sample = /```ts\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? "";
    expect(sample).toContain("await ");
    folder = await mkdtemp(join(tmpdir(), "ad-seller-commonjs-"));
    await mkdir(folder, { recursive: true });
    // What `npm init -y` writes: no "type", so a .ts file is CommonJS under nodenext.
    await writeFile(join(folder, "package.json"), JSON.stringify({ name: "seller-app", version: "1.0.0" }));
    await writeFile(join(folder, "sample.ts"), sample);
    await writeFile(join(folder, "sample.mts"), sample);
    const asCommonJs = await runSample("sample.ts");
    expect(asCommonJs.ok).toBe(false);
    expect(asCommonJs.output).toMatch(/[Tt]op-level await/);
    const asModule = await runSample("sample.mts");
    expect(asModule).toMatchObject({ ok: true });
  }, 60_000);
});
