import * as z from "zod";
import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import type { EmitEventInput, Event } from "./event.js";
import {
  describeBadType,
  type EventType,
  type EventTypeFilter,
  type EventTypePattern,
  isEventType,
  type TypesMatching,
} from "./event-type.js";
import type { JsonObject } from "./json-value.js";

/** A zod schema (zod 4 classic or mini) for one event type's payload; its output must be a JSON object. */
export type PayloadSchema = z.core.$ZodType<Readonly<Record<string, unknown>>>;

/**
 * The application's event catalogue: a partial map from event type to the zod schema of its payload. Types without
 * a schema keep `JsonObject` payloads. Write it with `satisfies PayloadSchemas` so each schema keeps its own type.
 *
 * @example
 * ```ts
 * const payloads = {
 *   "negotiation.round": z.object({ round: z.number().int().positive(), buyer_cpm: z.number() }),
 * } satisfies PayloadSchemas;
 * const bus = new EventBus({ payloads });
 * ```
 */
export type PayloadSchemas = { readonly [Type in EventType]?: PayloadSchema };

/** The catalogue of a bus without `payloads`: every type keeps `JsonObject`. */
export type NoPayloadSchemas = Record<never, never>;

/** A value as the bus hands it out: deeply read-only, as it is deeply frozen at run time. */
export type Frozen<Value> = Value extends readonly (infer Item)[]
  ? readonly Frozen<Item>[]
  : Value extends object
    ? { readonly [Key in keyof Value]: Frozen<Value[Key]> }
    : Value;

/**
 * The schema for `Type` in the catalogue `Schemas`, or `undefined`. Written as `Schemas extends {...}` rather than
 * with `keyof Schemas`, which would make every bus type contravariant in its catalogue, so that a typed bus (and
 * its scopes) would not pass where a plain `EventBus` is taken (the HTTP handlers).
 *
 * @example
 * ```ts
 * type RoundSchema = PayloadSchemaOf<typeof payloads, "negotiation.round">; // the zod object
 * ```
 */
export type PayloadSchemaOf<Schemas, Type extends EventType> = Type extends EventType
  ? Schemas extends { readonly [Key in Type]: infer Schema }
    ? Schema
    : undefined
  : never;

/**
 * The payload of an event of `Type` on a bus with catalogue `Schemas`: the schema's output, or `JsonObject`.
 *
 * @example
 * ```ts
 * type RoundPayload = PayloadOf<typeof payloads, "negotiation.round">; // { readonly round: number; ... }
 * ```
 */
export type PayloadOf<Schemas, Type extends EventType> =
  PayloadSchemaOf<Schemas, Type> extends infer Schema extends z.core.$ZodType ? Frozen<z.output<Schema>> : JsonObject;

/** What `emitEvent` accepts as the payload of `Type`: the schema's input, or any JSON object. */
export type PayloadInputOf<Schemas, Type extends EventType> =
  PayloadSchemaOf<Schemas, Type> extends infer Schema extends z.core.$ZodType
    ? z.input<Schema>
    : Readonly<Record<string, unknown>>;

/**
 * The event types of a catalogue that have a schema.
 *
 * @example
 * ```ts
 * type Typed = TypedEventTypes<typeof payloads>; // "negotiation.round" | "deal.created"
 * ```
 */
export type TypedEventTypes<Schemas> = {
  [Type in EventType]: Schemas extends { readonly [Key in Type]: z.core.$ZodType } ? Type : never;
}[EventType];

/**
 * One event of each type in `Types`, with its typed payload: a union discriminated by `event_type`.
 *
 * @example
 * ```ts
 * type Round = TypedEvent<typeof payloads, "negotiation.round">; // Event<"negotiation.round", { readonly round: number; ... }>
 * ```
 */
export type TypedEvent<Schemas, Types extends EventType> = Types extends EventType
  ? Event<Types, PayloadOf<Schemas, Types>>
  : never;

/**
 * The events a bus with catalogue `Schemas` hands back for a pattern (default `"*"`): each typed type as its own
 * `Event<Type, Payload>`, the untyped rest as one `Event<...>`, so a bus without `payloads` gives plain `Event`.
 * What `listEvents`, `subscribe`, `getEvent` (and `tail`, `consume`) return; use it to type your own helpers.
 *
 * @example
 * ```ts
 * type DealEvent = EventOf<typeof payloads, "deal.*">;
 * function onDeal(event: DealEvent) {
 *   if (event.event_type === "deal.created") console.log(event.payload.cpm);
 * }
 * ```
 */
export type EventOf<Schemas, Pattern extends EventTypePattern = "*"> =
  | TypedEvent<Schemas, Extract<TypesMatching<Pattern>, TypedEventTypes<Schemas>>>
  | ([Exclude<TypesMatching<Pattern>, TypedEventTypes<Schemas>>] extends [never]
      ? never
      : Event<Exclude<TypesMatching<Pattern>, TypedEventTypes<Schemas>>>);

/**
 * The events matching an `event_type` filter (a type, a pattern, or an array of them).
 *
 * @example
 * ```ts
 * type Listed = EventsMatching<typeof payloads, ["deal.*", "proposal.accepted"]>;
 * ```
 */
export type EventsMatching<Schemas, Filter extends EventTypeFilter> = EventOf<
  Schemas,
  Filter extends readonly (infer Pattern extends EventTypePattern)[] ? Pattern : Extract<Filter, EventTypePattern>
>;

/**
 * What `emitEvent` takes for `Type` on a bus with catalogue `Schemas`.
 *
 * @example
 * ```ts
 * const input: EmitInputOf<typeof payloads, "negotiation.round"> = {
 *   event_type: "negotiation.round",
 *   payload: { round: 1, buyer_cpm: 9 },
 * };
 * ```
 */
export type EmitInputOf<Schemas, Type extends EventType> = EmitEventInput<Type, PayloadInputOf<Schemas, Type>>;

/** The compiled catalogue of one bus. */
export type PayloadSchemaMap = ReadonlyMap<string, PayloadSchema>;

/** Checks the `payloads` option: keys must be event types, values zod schemas. `undefined` when there are none. */
export function readPayloadSchemas(payloads: unknown): PayloadSchemaMap | undefined {
  if (payloads === undefined) return undefined;
  if (typeof payloads !== "object" || payloads === null || Array.isArray(payloads)) {
    throw EventValidationError.forField("payloads", "must be an object mapping event types to zod schemas");
  }
  const schemas = new Map<string, PayloadSchema>();
  const issues: ValidationIssue[] = [];
  for (const [type, schema] of Object.entries(payloads)) {
    if (!isEventType(type)) issues.push({ path: ["payloads", type], message: describeBadType(type) });
    else if (schema === undefined) continue;
    else if (typeof schema !== "object" || schema === null || !("_zod" in schema)) {
      issues.push({ path: ["payloads", type], message: "must be a zod schema, e.g. z.object({ round: z.number() })" });
    } else schemas.set(type, schema as PayloadSchema);
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return schemas.size > 0 ? schemas : undefined;
}

/** Runs a payload schema: the schema's output, or the issues found, each path starting at `payload`. */
export function parseWithPayloadSchema(
  schema: PayloadSchema,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; error: EventValidationError } {
  const parsed = z.safeParse(schema, value ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: EventValidationError.fromZod(parsed.error, ["payload"]) };
}

/**
 * The input with its payload replaced by the schema's output. On failure, every problem of the input at once: the
 * payload's, and what `checkRest` finds in the other fields.
 */
export function applyPayloadSchema<Input extends { readonly payload?: unknown }>(
  input: Input,
  schema: PayloadSchema,
  checkRest: (input: Input) => unknown,
): Input {
  const parsed = parseWithPayloadSchema(schema, input.payload);
  if (parsed.ok) return { ...input, payload: parsed.value };
  let others: readonly ValidationIssue[] = [];
  try {
    checkRest({ ...input, payload: undefined });
  } catch (error) {
    if (EventValidationError.is(error)) others = error.issues;
  }
  throw new EventValidationError([...others, ...parsed.error.issues], { cause: parsed.error.cause });
}
