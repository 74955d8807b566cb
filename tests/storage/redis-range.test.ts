// The range script's joined reply (members and records, each joined with RS) taken apart by its caller, without a
// server: a reply whose texts do not pair up with its entries must never be split wrongly.
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { defineRange } from "../../src/storage/redis/redis-range.js";

const RS = "\u001e";

/** A client whose EVALSHA_RO answers `reply` and whose MGET answers from `records`. */
function fakeClient(reply: unknown[], records: Record<string, string>) {
  const mgets: string[][] = [];
  const client = {
    defineCommand() {},
    call: async () => reply,
    mget: async (keys: string[]) => {
      mgets.push(keys);
      return keys.map((key) => records[key] ?? null);
    },
  };
  return { client: client as unknown as Redis, mgets };
}

const read = (client: Redis) =>
  defineRange(client, "p:event:").records(["p:eventlog:all"], ["desc", "+inf", "-inf", "2"]);

describe("the range script's reply", () => {
  it("splits members and records, a gone record as null", async () => {
    const { client, mgets } = fakeClient([2, "7", `a${RS}b`, `{"n":1}${RS}`], {});
    expect(await read(client)).toEqual({ entries: 2, lastScore: "7", ids: ["a", "b"], texts: ['{"n":1}', null] });
    expect(mgets).toEqual([]);
  });

  it("reads the records apart when one holds the separator, so each text stays whole", async () => {
    const broken = `{"x":"${RS}"}`;
    const { client, mgets } = fakeClient([2, "7", `a${RS}b`, `${broken}${RS}{}`], {
      "p:event:a": broken,
      "p:event:b": "{}",
    });
    expect((await read(client)).texts).toEqual([broken, "{}"]);
    expect(mgets).toEqual([["p:event:a", "p:event:b"]]);
  });

  it("refuses members that do not pair up with the entries", async () => {
    const { client } = fakeClient([2, "7", `a${RS}b${RS}c`, `{}${RS}{}`], {});
    await expect(read(client)).rejects.toThrow(/member/);
  });

  it("answers an empty range with no entries", async () => {
    const { client } = fakeClient([0], {});
    expect(await read(client)).toEqual({ entries: 0, lastScore: undefined, ids: [], texts: [] });
  });
});
