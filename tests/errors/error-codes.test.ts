import { describe, expect, it } from "vitest";
import { EventBusError, EventConflictError, EventValidationError, StorageError } from "../../src/index.js";
import { EventExpectationError } from "../../src/testing/index.js";

const ERRORS = [
  [new EventBusError("closed"), "ERR_EVENT_BUS"],
  [new EventValidationError([{ path: ["limit"], message: "bad" }]), "ERR_EVENT_VALIDATION"],
  [new EventConflictError("id", ["payload"]), "ERR_EVENT_CONFLICT"],
  [new StorageError("postgres", "append", new Error("down")), "ERR_STORAGE"],
] as const;

describe("error codes", () => {
  it.each(ERRORS)("%s carries its stable code, also as the class's static code", (error, code) => {
    expect(error.code).toBe(code);
    expect((error.constructor as typeof EventBusError).code).toBe(code);
  });

  it("recognises an error by code with the static guard, subclasses included", () => {
    const validation = new EventValidationError([]);
    expect(EventValidationError.is(validation)).toBe(true);
    expect(EventBusError.is(validation)).toBe(true);
    expect(StorageError.is(validation)).toBe(false);
    expect(EventBusError.is(new Error("x"))).toBe(false);
    // A look-alike without the library's mark is not one of its errors.
    expect(EventValidationError.is({ code: "ERR_EVENT_VALIDATION", issues: [] })).toBe(false);
    expect(EventBusError.is(null)).toBe(false);
  });

  it("needs a few lines for a new error class: a static code and a declared instance code", () => {
    class EventGapError extends EventBusError {
      static override readonly code = "ERR_EVENT_GAP";
      override name = "EventGapError";
      declare readonly code: "ERR_EVENT_GAP";
    }
    const gap = new EventGapError("cursor names a pruned event");
    expect(gap.code).toBe("ERR_EVENT_GAP");
    expect(EventGapError.is(gap)).toBe(true);
    expect(EventBusError.is(gap)).toBe(true);
    expect(EventGapError.is(new EventValidationError([]))).toBe(false);
  });

  it("gives the testing entry's expectation error a code too", () => {
    expect(new EventExpectationError("x").code).toBe("ERR_EVENT_EXPECTATION");
  });
});
