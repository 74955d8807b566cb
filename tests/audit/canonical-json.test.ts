// RFC 8785 (JSON Canonicalization Scheme): the examples of sections 3.2.2 and 3.2.3 and the number table of
// appendix B, plus what canonical JSON refuses.
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/canonical-json.js";
import { EventValidationError } from "../../src/errors/error-classes.js";
import { canonicalJson as outboxCanonicalJson } from "../../src/outbox/uuid-v5.js";

/** The IEEE 754 double with these bits. */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe("canonicalJson (RFC 8785)", () => {
  it("writes the example of section 3.2.2: sorted members, ES number form, minimal escapes", () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it("orders members by UTF-16 code units (section 3.2.3), not by code points or locale", () => {
    const input = String.raw`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`;
    // Read off the text: Object.keys would put the integer-like "1" first whatever the order.
    const names = [...canonicalJson(JSON.parse(input)).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((match) =>
      JSON.parse(`"${match[1]}"`),
    );
    expect(names).toEqual(["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"]);
  });

  it.each([
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ])("writes the double %s as %s (appendix B)", (bits, text) => {
    expect(canonicalJson(double(bits))).toBe(text);
  });

  it("refuses NaN, Infinity (appendix B), bigint, functions and lone surrogates, naming the path", () => {
    for (const [value, path] of [
      [{ a: [double("7fffffffffffffff")] }, "$.a[0]"],
      [{ b: double("7ff0000000000000") }, "$.b"],
      [{ c: 1n }, "$.c"],
      [{ d: () => 1 }, "$.d"],
      [{ e: "\ud800x" }, "$.e"],
    ] as const) {
      let thrown: unknown;
      try {
        canonicalJson(value);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(EventValidationError);
      expect((thrown as EventValidationError).issues[0]?.path).toEqual([path]);
    }
  });

  it("is the one canonical form: the outbox's ids use the same function", () => {
    expect(outboxCanonicalJson).toBe(canonicalJson);
  });
});
