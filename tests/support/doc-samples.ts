// Extraction of the TypeScript samples of README.md and docs/**/*.md, for tests/docs-samples.test.ts.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** One fenced ```ts block of a Markdown file. */
export interface DocSample {
  /** `README.md#3` style: the file relative to the repository and the block's number in it (from 1). */
  readonly name: string;
  readonly file: string;
  /** Line of the opening fence in the Markdown file (from 1). */
  readonly line: number;
  readonly code: string;
  /** ```ts compile-only: compiled, never run (a server meant to keep running). */
  readonly compileOnly: boolean;
}

const FENCE = /^(\s*)```(\S*)(.*)$/;

/** README.md and every Markdown page under docs/ (generated API docs excluded), in a stable order. */
export async function markdownFiles(root: string): Promise<string[]> {
  const files = [join(root, "README.md")];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries.sort((left, right) => left.name.localeCompare(right.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() && entry.name !== "api") await walk(path);
      else if (entry.isFile() && entry.name.endsWith(".md")) files.push(path);
    }
  };
  await walk(join(root, "docs"));
  return files;
}

/** Every ```ts block of one Markdown file (```ts compile-only included; other languages ignored). */
export function extractSamples(markdown: string, file: string): DocSample[] {
  const samples: DocSample[] = [];
  const lines = markdown.split("\n");
  let open: { line: number; language: string; rest: string; body: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = FENCE.exec(text);
    if (open === undefined) {
      if (fence) open = { line: index + 1, language: fence[2] ?? "", rest: (fence[3] ?? "").trim(), body: [] };
      return;
    }
    if (fence && fence[2] === "" && fence[3]?.trim() === "") {
      if (open.language === "ts") {
        samples.push({
          name: `${file}#${samples.length + 1}`,
          file,
          line: open.line,
          code: open.body.join("\n"),
          compileOnly: open.rest === "compile-only",
        });
      }
      open = undefined;
      return;
    }
    open.body.push(text);
  });
  return samples;
}

/** Every sample of README.md and docs/, named relative to `root`. */
export async function collectSamples(root: string): Promise<DocSample[]> {
  const samples: DocSample[] = [];
  for (const path of await markdownFiles(root)) {
    samples.push(...extractSamples(await readFile(path, "utf8"), relative(root, path)));
  }
  return samples;
}
