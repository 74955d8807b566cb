import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEmitInputFast, readEmitInput, schemaInputOf } from "../../src/bus/write/emit-input.js";
import { buildEmitInputSchema, type EmitEventInput } from "../../src/event/event.js";
import { EVENT_TYPES, EventValidationError } from "../../src/index.js";

const MAX_BYTES = 2048;
const schema = buildEmitInputSchema(MAX_BYTES);

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constant(Number.NaN),
    fc.bigInt(),
    fc.date(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
  ),
}));

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
/** Mostly valid values, sometimes not: the fast path must see both. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: invalid, weight: 1 });

const safeJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 }),
  ),
}));
const idLike = mostly(
  fc.string({ maxLength: 40 }),
  fc.oneof(
    fc.string({ minLength: 250, maxLength: 300 }),
    fc.integer(),
    fc.constant(null),
    fc.string({ unit: "binary" }),
  ),
);
const jsonObject = mostly(
  fc.dictionary(fc.string(), safeJson.value, { maxKeys: 6 }),
  fc.oneof(
    fc.dictionary(fc.string(), json.value, { maxKeys: 6 }),
    json.value,
    fc.string({ unit: "binary" }).map((text) => ({ text })),
    fc.string({ minLength: 2100, maxLength: 2200 }).map((text) => ({ text })),
  ),
);

const emitInput = fc.record(
  {
    event_type: mostly(fc.constantFrom(...EVENT_TYPES), fc.oneof(fc.string(), fc.constant(undefined))),
    event_id: maybe(
      mostly(
        fc.uuid(),
        fc.oneof(
          fc.string(),
          fc.uuid().map((id) => id.toUpperCase()),
        ),
      ),
    ),
    timestamp: maybe(
      mostly(
        fc
          .date({ noInvalidDate: true, min: new Date("0001-01-01"), max: new Date("9999-12-31") })
          .map((date) => date.toISOString()),
        fc.oneof(fc.string(), fc.date()),
      ),
    ),
    flow_id: maybe(idLike),
    flow_type: maybe(idLike),
    proposal_id: maybe(idLike),
    deal_id: maybe(idLike),
    session_id: maybe(idLike),
    payload: maybe(jsonObject),
    metadata: maybe(jsonObject),
    sesion_id: mostly(fc.constant(undefined), fc.string()),
  },
  { requiredKeys: [] },
);

describe("parseEmitInputFast", () => {
  it("never accepts what the zod schema refuses, and returns what the schema returns when it accepts", () => {
    let accepted = 0;
    fc.assert(
      fc.property(emitInput, (input) => {
        const own = readEmitInput(input as EmitEventInput);
        const parsed = schema.safeParse(schemaInputOf(own));
        let fast: ReturnType<typeof parseEmitInputFast>;
        try {
          fast = parseEmitInputFast(own, MAX_BYTES);
        } catch (error) {
          // Only a bad payload or metadata is reported by the fast path itself: exactly the schema's issues.
          expect(error).toBeInstanceOf(EventValidationError);
          expect(parsed.success).toBe(false);
          expect((error as EventValidationError).issues).toEqual(
            EventValidationError.fromZod(parsed.error as never).issues,
          );
          return;
        }
        if (fast === undefined) return;
        accepted++;
        expect(parsed.success).toBe(true);
        // toEqual: an explicit `timestamp: undefined` is kept as a key by zod and omitted here; the bus reads both alike.
        expect(fast).toEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
    // The property is only meaningful if the fast path takes a fair share of the generated inputs.
    expect(accepted).toBeGreaterThan(100);
  });

  it("takes the common seller-flow input", () => {
    const input = {
      event_type: "negotiation.round",
      session_id: "s-1",
      payload: { round: 2, lines: [{ cpm: 1 }] },
    } as const;
    expect(parseEmitInputFast(readEmitInput(input), MAX_BYTES)).toStrictEqual(schema.parse(input));
  });
});
