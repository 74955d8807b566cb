// Hostile emit input: whatever the input does when read, emitEvent rejects with an EventValidationError whose issues
// name the field, and nothing is stored. (How long the refusal takes is a bench row: bench/hostile-input.ts.)
import { describe, expect, it } from "vitest";
import { EventBus, EventValidationError, memoryStorage } from "../../src/index.js";

const throwing = () => {
  throw new Error("boom from a getter");
};

function withGetter(key: string, get: () => unknown, base: Record<string, unknown> = {}): Record<string, unknown> {
  return Object.defineProperty({ ...base }, key, { get, enumerable: true });
}

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

function trapsThrow<T extends object>(target: T, traps: (keyof ProxyHandler<T>)[]): T {
  const handler: ProxyHandler<T> = {};
  for (const trap of traps) (handler as Record<string, unknown>)[trap] = throwing;
  return new Proxy(target, handler);
}

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 0; level < depth; level++) value = { next: value };
  return value;
}

function manyKeys(count: number): Record<string, number> {
  const value: Record<string, number> = {};
  for (let index = 0; index < count; index++) value[`k${index}`] = index;
  return value;
}

/** An array Proxy answering every read, whose claimed length is all it controls. */
function claimingLength(length: number): { proxy: unknown[]; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy([], {
    get: (target, key) => {
      if (key === "length") return length;
      if (typeof key === "string") {
        reads++;
        return 1;
      }
      return Reflect.get(target, key);
    },
    has: () => true,
  });
  return { proxy, reads: () => reads };
}

/** [1, <hole>, 3] */
function sparse(): number[] {
  const list = [1];
  list[2] = 3;
  return list;
}

class Money {
  constructor(readonly cents: number) {}
}

const base = { event_type: "deal.created", deal_id: "d-1" } as const;

/** [what, the input, the path the error must name] */
const CASES: readonly [string, () => unknown, readonly (string | number)[]][] = [
  [
    "a top-level getter that throws",
    () => withGetter("deal_id", throwing, { event_type: "deal.created" }),
    ["deal_id"],
  ],
  ["an event_type getter that throws", () => withGetter("event_type", throwing), ["event_type"]],
  ["a payload getter that throws", () => ({ ...base, payload: withGetter("price", throwing) }), ["payload", "price"]],
  [
    "a nested payload getter that throws",
    () => ({ ...base, payload: { lines: [{ sku: "a" }, withGetter("cpm", throwing)] } }),
    ["payload", "lines", 1, "cpm"],
  ],
  ["a metadata getter that throws", () => ({ ...base, metadata: withGetter("host", throwing) }), ["metadata", "host"]],
  ["an input Proxy whose ownKeys trap throws", () => trapsThrow({ ...base }, ["ownKeys"]), []],
  ["an input Proxy whose get trap throws", () => trapsThrow({ ...base }, ["get"]), ["event_type"]],
  ["a revoked input Proxy", () => revoked({ ...base }), []],
  [
    "a payload Proxy whose ownKeys trap throws",
    () => ({ ...base, payload: trapsThrow({ a: 1 }, ["ownKeys"]) }),
    ["payload"],
  ],
  [
    "a payload Proxy whose getPrototypeOf trap throws",
    () => ({ ...base, payload: trapsThrow({ a: 1 }, ["getPrototypeOf"]) }),
    ["payload"],
  ],
  [
    "a nested Proxy whose get trap throws",
    () => ({ ...base, payload: { inner: trapsThrow({ a: 1 }, ["get"]) } }),
    ["payload", "inner", "a"],
  ],
  ["a revoked payload Proxy", () => ({ ...base, payload: revoked({ a: 1 }) }), ["payload"]],
  ["a revoked nested array Proxy", () => ({ ...base, payload: { list: revoked([1, 2]) } }), ["payload", "list"]],
  ["a revoked timestamp Proxy", () => ({ ...base, timestamp: revoked(new Date()) }), ["timestamp"]],
  ["a revoked event_type Proxy", () => ({ ...base, event_type: revoked({}) }), ["event_type"]],
  ["a payload with toJSON", () => ({ ...base, payload: { toJSON: () => ({ a: 1 }) } }), ["payload", "toJSON"]],
  ["a nested Date (it has toJSON)", () => ({ ...base, payload: { at: new Date() } }), ["payload", "at"]],
  ["a payload with a Symbol key", () => ({ ...base, payload: { a: 1, [Symbol("s")]: 2 } }), ["payload"]],
  ["a sparse array", () => ({ ...base, payload: { list: sparse() } }), ["payload", "list", 1]],
  ["a typed array", () => ({ ...base, payload: { bytes: new Uint8Array(4) } }), ["payload", "bytes"]],
  ["a Map", () => ({ ...base, payload: { map: new Map([["a", 1]]) } }), ["payload", "map"]],
  ["a Set", () => ({ ...base, payload: { set: new Set([1]) } }), ["payload", "set"]],
  ["a Map as the payload", () => ({ ...base, payload: new Map() }), ["payload"]],
  ["a class instance", () => ({ ...base, payload: { price: new Money(5) } }), ["payload", "price"]],
  [
    "10,000 levels of nesting",
    () => ({ ...base, payload: nested(10_000) }),
    ["payload", ...Array<string>(64).fill("next")],
  ],
  ["an object of 100,000 keys", () => ({ ...base, payload: manyKeys(100_000) }), ["payload"]],
  [
    "an array of 5,000,000 elements",
    () => ({ ...base, payload: { values: new Array(5_000_000).fill(1) } }),
    ["payload"],
  ],
  ["a sparse array of length 5,000,000", () => ({ ...base, payload: { values: new Array(5_000_000) } }), ["payload"]],
  ["a 16 MiB string", () => ({ ...base, payload: { text: "x".repeat(16 * 1024 * 1024) } }), ["payload"]],
  ["a 16 MiB event_type", () => ({ ...base, event_type: "x".repeat(16 * 1024 * 1024) }), ["event_type"]],
  ["a 16 MiB deal_id", () => ({ ...base, deal_id: "x".repeat(16 * 1024 * 1024) }), ["deal_id"]],
  [
    "a 16 MiB timestamp",
    () => ({ ...base, timestamp: `2026-01-01T00:00:00${"0".repeat(16 * 1024 * 1024)}` }),
    ["timestamp"],
  ],
  [
    "an event_type inherited through the prototype",
    () => Object.create({ event_type: "deal.created" }),
    ["event_type"],
  ],
  [
    "fields inherited from a polluted prototype",
    () => Object.assign(Object.create({ event_type: "deal.created", deal_id: "x" }), { deal_id: "d-1" }),
    ["event_type"],
  ],
  ["an input of 100,000 keys", () => ({ ...manyKeys(100_000), ...base }), []],
];

describe("emitEvent with hostile input", () => {
  it.each(CASES)(
    "refuses %s with an EventValidationError naming the field, storing nothing",
    async (_, build, path) => {
      const storage = memoryStorage();
      const bus = new EventBus({ storage });
      const error = await bus.emitEvent(build() as never).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(EventValidationError);
      const { issues, message } = error as EventValidationError;
      expect(issues.map((issue) => issue.path)).toContainEqual(path);
      expect(issues.length).toBeLessThanOrEqual(20);
      // The message stays readable whatever the input held (no 16 MiB echo).
      expect(message.length).toBeLessThan(4000);
      expect(await bus.listEvents({ limit: 1000 })).toEqual([]);
      expect(await storage.list({ limit: 1000 })).toEqual([]);
    },
  );

  it("reads a Proxy array's claimed length without walking it", async () => {
    const { proxy: values, reads } = claimingLength(5_000_000);
    const error = await new EventBus().emitEvent({ ...base, payload: { values } }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues[0]?.path).toEqual(["payload"]);
    expect((error as EventValidationError).message).toMatch(/more than 65536 bytes as JSON.*passed at values/);
    // Refused on its length alone: not one element was read.
    expect(reads()).toBe(0);
  });

  it("stops walking once the cap is certainly passed", async () => {
    let reads = 0;
    const values = Array.from({ length: 10_000 }, (_, index) =>
      Object.defineProperty({}, "v", { enumerable: true, get: () => "x".repeat(100 + index + 0 * reads++) }),
    );
    const error = await new EventBus({ maxPayloadBytes: 10_000 })
      .emitEvent({ ...base, payload: { values } })
      .catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(EventValidationError);
    // About 10,000 / 110 bytes per element were read, not 10,000 elements.
    expect(reads).toBeLessThan(200);
  });

  it("reads each field of the input once, so a getter cannot answer differently the second time", async () => {
    let reads = 0;
    const input = withGetter("event_type", () => (reads++ === 0 ? "deal.created" : "not.a.type"), { deal_id: "d" });
    const event = await new EventBus().emitEvent(input as never);
    expect(event.event_type).toBe("deal.created");
    expect(reads).toBe(1);
  });

  it("ignores symbol keys of the input itself (they are not fields) and accepts a null-prototype input", async () => {
    const input = Object.assign(Object.create(null), base, { [Symbol("tag")]: 1 });
    expect((await new EventBus().emitEvent(input)).deal_id).toBe("d-1");
  });

  it("refuses hostile scope input the same way", async () => {
    const bus = new EventBus();
    expect(() => bus.scope(revoked({ deal_id: "d" }))).toThrow(EventValidationError);
    expect(() => bus.scope(withGetter("deal_id", throwing) as never)).toThrow(EventValidationError);
    const scope = bus.scope({ deal_id: "d" });
    await expect(scope.emitEvent(revoked({ ...base }))).rejects.toBeInstanceOf(EventValidationError);
    const error = await scope.emitEvent(withGetter("flow_id", throwing, { ...base }) as never).catch((e: unknown) => e);
    expect((error as EventValidationError).issues[0]?.path).toEqual(["flow_id"]);
    expect(await bus.listEvents()).toEqual([]);
  });

  it("refuses options whose getters throw with an error naming the option", () => {
    const create = (options: object) => () => new EventBus(options as never);
    expect(create(withGetter("storage", throwing))).toThrow(EventValidationError);
    expect(create(withGetter("now", throwing))).toThrow(/now: could not be read/);
    expect(create(revoked({}))).toThrow(EventValidationError);
    const storage = withGetter("append", throwing, { get() {}, list() {}, close() {} });
    expect(create({ storage })).toThrow(/storage: could not be read/);
  });
});
