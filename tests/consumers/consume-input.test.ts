import { describe, expect, it } from "vitest";
import { EventBus, EventBusError, EventValidationError, memoryStorage } from "../../src/index.js";

const noop = async () => {};

function rejection(run: () => unknown): EventValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error("expected an EventValidationError");
}

describe("consume() input", () => {
  const bus = new EventBus();
  const cases: [string, () => unknown, (string | number)[]][] = [
    ["an empty name", () => bus.consume("", noop), ["name"]],
    ["a 201-character name", () => bus.consume("x".repeat(201), noop), ["name"]],
    ["a name that is not a string", () => bus.consume(7 as never, noop), ["name"]],
    // PostgreSQL text cannot hold U+0000: such a name used to pass, then every lease attempt failed (standby forever).
    ["a name holding NUL", () => bus.consume("export\u0000x", noop), ["name"]],
    ["a name holding a line break", () => bus.consume("export\nx", noop), ["name"]],
    ["an unknown onGap", () => bus.consume("a", noop, { onGap: "skip" } as never), ["onGap"]],
    ["a misspelt option", () => bus.consume("a", noop, { batchSiz: 5 } as never), ["batchSiz"]],
    [
      "an option whose getter throws",
      () =>
        bus.consume("a", noop, {
          get leaseMs(): number {
            throw new Error("boom");
          },
        }),
      ["leaseMs"],
    ],
    ["a handler that is not a function", () => bus.consume("a", "handler" as never), ["handler"]],
    ["batchSize 0", () => bus.consume("a", noop, { batchSize: 0 }), ["batchSize"]],
    ["batchSize 10,001", () => bus.consume("a", noop, { batchSize: 10_001 }), ["batchSize"]],
    ["batchSize 1.5", () => bus.consume("a", noop, { batchSize: 1.5 }), ["batchSize"]],
    ["leaseMs 999", () => bus.consume("a", noop, { leaseMs: 999 }), ["leaseMs"]],
    ["retry.attempts 0", () => bus.consume("a", noop, { retry: { attempts: 0 } }), ["retry", "attempts"]],
    [
      "maxDelayMs below initialDelayMs",
      () => bus.consume("a", noop, { retry: { initialDelayMs: 500, maxDelayMs: 10 } }),
      ["retry", "maxDelayMs"],
    ],
    ["an unknown retry option", () => bus.consume("a", noop, { retry: { tries: 3 } as never }), ["retry", "tries"]],
    ["an unknown onFailure", () => bus.consume("a", noop, { onFailure: "ignore" as never }), ["onFailure"]],
    ["handlerTimeoutMs 0", () => bus.consume("a", noop, { handlerTimeoutMs: 0 }), ["handlerTimeoutMs"]],
    ["a from that is no id", () => bus.consume("a", noop, { from: "beginning" }), ["from"]],
    ["an unknown option", () => bus.consume("a", noop, { batch: 10 } as never), ["batch"]],
    [
      "a cursor in the query",
      () => bus.consume("a", noop, { query: { after: crypto.randomUUID() } as never }),
      ["query", "after"],
    ],
    [
      "a bad filter",
      () => bus.consume("a", noop, { query: { event_type: "deal.made" as never } }),
      ["query", "event_type"],
    ],
    ["a signal that is no AbortSignal", () => bus.consume("a", noop, { signal: {} as never }), ["signal"]],
  ];
  for (const [what, run, path] of cases) {
    it(`rejects ${what}, naming the option`, () => {
      const error = rejection(run);
      expect(error.issues.map((issue) => issue.path)).toContainEqual(path);
      expect(error.message).toContain(path.join("."));
    });
  }

  it("accepts the edges: a 200-character name, batchSize 1 and 10,000, leaseMs 1,000", async () => {
    const consumers = [
      bus.consume("x".repeat(200), noop),
      bus.consume("b1", noop, { batchSize: 1, leaseMs: 1_000 }),
      bus.consume("b2", noop, { batchSize: 10_000, from: "end", retry: { attempts: 1 } }),
    ];
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    expect(consumers.map((consumer) => consumer.status().state)).toEqual(["stopped", "stopped", "stopped"]);
  });

  it("refuses a storage without the checkpoints capability, and a closed bus", async () => {
    const { checkpoints: _, ...plain } = memoryStorage();
    const without = new EventBus({ storage: plain });
    expect(() => without.consume("a", noop)).toThrow(/checkpoints capability/);
    await without.close();
    expect(() => without.consume("a", noop)).toThrow(EventBusError);
  });
});
