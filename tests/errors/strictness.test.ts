import { Redis } from "ioredis";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { EventBus, EventValidationError, memoryStorage } from "../../src/index.js";
import { normalizeEventQuery } from "../../src/storage/index.js";
import { postgresStorage } from "../../src/storage/postgres/index.js";
import { redisStorage } from "../../src/storage/redis/index.js";
import { sqliteStorage } from "../../src/storage/sqlite/index.js";
import { createTestBus } from "../../src/testing/index.js";
import { loadAnySqlite } from "../support/sqlite.js";

const openSqlite = await loadAnySqlite();

function thrown(call: () => unknown): EventValidationError {
  try {
    call();
  } catch (error) {
    if (EventValidationError.is(error)) return error;
    throw error;
  }
  throw new Error("expected an EventValidationError");
}

describe("unknown options are refused with a did-you-mean", () => {
  it("new EventBus", () => {
    expect(thrown(() => new EventBus({ maxPayloadByte: 10 } as never)).message).toBe(
      '[ad-seller-events] maxPayloadByte: is not an option of EventBus; did you mean "maxPayloadBytes"?',
    );
    expect(thrown(() => new EventBus({ zzz: 1 } as never)).message).toContain("the options are storage, closeStorage");
  });

  it("createTestBus", () => {
    expect(() => createTestBus({ stepMS: 5 } as never)).toThrow(/stepMS: .*did you mean "stepMs"/);
  });

  it("every adapter factory, before it touches its client", async () => {
    expect(() => memoryStorage({ maxEvent: 5 } as never)).toThrow(
      /maxEvent: is not an option of memoryStorage; did you mean "maxEvents"\?/,
    );
    const database = openSqlite(":memory:");
    expect(() => sqliteStorage({ database, tabel: "events" } as never)).toThrow(
      /tabel: is not an option of sqliteStorage; did you mean "table"\?/,
    );
    database.close();
    // A pool and a lazy client that never connect: the check runs first.
    const pool = new pg.Pool({ connectionString: "postgres://nobody@127.0.0.1:1/none" });
    expect(() => postgresStorage({ pool, closepool: true } as never)).toThrow(/closepool: .*did you mean "closePool"/);
    await pool.end();
    const client = new Redis({ lazyConnect: true, port: 1 });
    expect(() => redisStorage({ client, prefx: "x:" } as never)).toThrow(/prefx: .*did you mean "prefix"/);
    client.disconnect();
  });

  it("an options value that is not an object", () => {
    expect(() => memoryStorage(null as never)).toThrow(/memoryStorage takes an options object, got null/);
  });
});

describe("query strictness", () => {
  it("refuses since at or after until", () => {
    const error = thrown(() => normalizeEventQuery({ since: "2026-11-24T10:00:00Z", until: "2026-11-24T10:00:00Z" }));
    expect(error.issues[0]?.path).toEqual(["until"]);
    expect(error.message).toMatch(/^\[ad-seller-events\] until: must be later than since/);
    expect(normalizeEventQuery({ since: "2026-11-24T10:00:00Z", until: "2026-11-24T10:00:00.001Z" }).until).toBe(
      "2026-11-24T10:00:00.001Z",
    );
  });

  it("puts a colon after the field in every message", () => {
    expect(thrown(() => normalizeEventQuery({ limit: 0 })).message).toBe(
      "[ad-seller-events] limit: must be an integer from 1 to 1000, got 0",
    );
    const several = thrown(() => normalizeEventQuery({ limit: 0, after: "x" }));
    expect(several.message.split("\n").slice(1)).toEqual([
      '✖ after: must be the event_id (a UUID) of a stored event, got "x"',
      "✖ limit: must be an integer from 1 to 1000, got 0",
    ]);
  });

  it("suggests the closest query field", () => {
    expect(thrown(() => normalizeEventQuery({ sesion_id: "s" })).message).toContain('did you mean "session_id"?');
  });

  it("caps the issues of one error at 20 plus one that counts the rest", () => {
    const error = thrown(() => normalizeEventQuery({ event_type: Array.from({ length: 500 }, (_, i) => `x${i}`) }));
    expect(error.issues).toHaveLength(21);
    expect(error.issues[20]?.message).toBe("and 480 more problems (only the first 20 are listed)");
    expect(error.message.length).toBeLessThan(4000);
  });
});

describe("hostile query objects", () => {
  const named = (query: unknown) => thrown(() => normalizeEventQuery(query)).issues.map((issue) => issue.path[0]);

  it("turns a throwing getter into an issue naming the field", () => {
    const query = {
      get session_id(): string {
        throw new Error("boom");
      },
    };
    expect(named(query)).toEqual(["session_id"]);
    expect(thrown(() => normalizeEventQuery(query)).message).toContain("session_id: could not be read: Error: boom");
  });

  it("survives a Proxy whose traps throw, and a revoked Proxy", () => {
    const trapped = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    expect(thrown(() => normalizeEventQuery(trapped)).message).toContain("query must be a readable plain object");
    const { proxy, revoke } = Proxy.revocable({ limit: 5 }, {});
    revoke();
    expect(() => normalizeEventQuery(proxy)).toThrow(EventValidationError);
    const { proxy: list, revoke: revokeList } = Proxy.revocable(["deal.*"], {});
    revokeList();
    expect(named({ event_type: list })).toEqual(["event_type"]);
  });

  it("counts only own properties: an inherited event_type is not a filter", () => {
    const query = Object.create({ event_type: "bogus", limit: 0 }) as object;
    expect(normalizeEventQuery(query)).toEqual({ limit: 50 });
  });

  it("refuses an array or a non-object query", () => {
    expect(thrown(() => normalizeEventQuery([])).message).toContain("query must be a readable plain object");
    expect(() => normalizeEventQuery("x")).toThrow(/query must be an object, got string/);
  });
});
