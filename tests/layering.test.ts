import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../src");
const CAPABILITIES = ["bus", "live", "consumers", "outbox", "http", "webhooks", "interop", "audit", "cli", "testing"];

/** Every relative import of the .ts files below `folder`, as `file -> src-relative target`. */
async function importsBelow(folder: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(join(SRC, folder), { recursive: true });
  for (const entry of entries.filter((name) => name.endsWith(".ts"))) {
    const file = join(SRC, folder, entry);
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(/^(?:import|export)[^;]*? from "(\.[^"]+)";/gms)) {
      const target = relative(SRC, resolve(dirname(file), match[1] as string));
      found.push(`${relative(SRC, file)} -> ${target}`);
    }
  }
  return found;
}

// STYLE "imports run downward": the model and the errors sit below every capability, and one capability does not
// reach into another's files for something the layer below can hold.
describe("the import layers", () => {
  it("keeps event/ and errors/ free of the capabilities", async () => {
    const imports = [...(await importsBelow("event")), ...(await importsBelow("errors"))];
    const upward = imports.filter((line) =>
      CAPABILITIES.some((folder) => line.split(" -> ")[1]?.startsWith(`${folder}/`)),
    );
    expect(upward).toEqual([]);
  });

  it("serves the IAB envelope over HTTP without importing interop/", async () => {
    const imports = await importsBelow("http");
    expect(imports.filter((line) => line.split(" -> ")[1]?.startsWith("interop/"))).toEqual([]);
    expect(imports.some((line) => line.endsWith("event/envelopes/iab-event.js"))).toBe(true);
  });
});
