import { EventValidationError, type ValidationIssue } from "../errors/error-classes.js";
import {
  CORRELATION_FIELDS,
  type CorrelationField,
  type EmitEventInput,
  EVENT_FIELDS,
  type Event,
  MAX_ID_LENGTH,
} from "../event/event.js";
import type { EventType } from "../event/event-type.js";
import { randomFlowId } from "../event/flow-id.js";
import { describeThrown } from "../event/json-value.js";
import type { EmitInputOf, EventOf, NoPayloadSchemas, PayloadSchemas } from "../event/payload-schemas.js";
import { type OwnEmitFields, readEmitInput } from "./write/emit-input.js";

/**
 * Correlation fields a scope binds; `flow_id` defaults to a fresh random id (21 URL-safe characters).
 *
 * @example
 * ```ts
 * const context: ScopeContext = { flow_type: "deal_sync", deal_id: "d-9" };
 * ```
 */
export type ScopeContext = { readonly [K in CorrelationField]?: string | undefined };

/**
 * The fields a scope has bound, every one of them set (`""` when not given, except `flow_id`).
 *
 * @example
 * ```ts
 * const { flow_id }: BoundContext = bus.scope({ flow_type: "proposal_handling" }).context;
 * ```
 */
export type BoundContext = { readonly [K in CorrelationField]: string };

/**
 * A child emitter with correlation fields bound, made by `bus.scope(...)`, like a pino child logger. Fields given to
 * `emitEvent` override the bound ones for that event.
 *
 * @example
 * ```ts
 * const flow = bus.scope({ flow_type: "proposal_handling", session_id, proposal_id });
 * await flow.emitEvent({ event_type: EventType.PROPOSAL_RECEIVED, payload: { budget: 50_000 } });
 * const deal = flow.scope({ deal_id: "d-42" }); // keeps flow_id, session_id, proposal_id
 * ```
 */
export class EventScope<Schemas extends PayloadSchemas = NoPayloadSchemas> {
  /** The bound fields; `context.flow_id` ties every event of this flow together. */
  readonly context: BoundContext;

  /** @internal Made by `EventBus.scope`. */
  constructor(
    private readonly emit: (input: EmitEventInput) => Promise<Event>,
    context: BoundContext,
    private readonly emitBatch: (inputs: readonly EmitEventInput[]) => Promise<Event[]>,
  ) {
    this.context = context;
  }

  /**
   * Emits an event carrying the bound fields.
   *
   * @example
   * ```ts
   * await flow.emitEvent({ event_type: "negotiation.round", payload: { round: 2, cpm: 14.5 } });
   * ```
   */
  emitEvent<Type extends EventType>(input: EmitInputOf<Schemas, Type>): Promise<EventOf<Schemas, Type>> {
    return this.emit(this.withContext(input as EmitEventInput)) as Promise<EventOf<Schemas, Type>>;
  }

  /**
   * `bus.emitEvents` with the bound fields on every event: validated together, stored in one append.
   *
   * @example
   * ```ts
   * const [started, round] = await flow.emitEvents([
   *   { event_type: "negotiation.started" },
   *   { event_type: "negotiation.round", payload: { round: 1 } },
   * ]);
   * ```
   */
  emitEvents<const Types extends readonly EventType[]>(
    inputs: {
      readonly [Index in keyof Types]: EmitInputOf<Schemas, Types[Index]>;
    },
  ): Promise<{ -readonly [Index in keyof Types]: EventOf<Schemas, Types[Index]> }> {
    const list = inputs as unknown as readonly EmitEventInput[];
    const merged = Array.isArray(list) ? list.map((input) => this.withContext(input)) : list;
    return this.emitBatch(merged) as Promise<never>;
  }

  /**
   * A narrower scope that keeps this one's fields and binds more.
   *
   * @example
   * ```ts
   * const dealScope = flow.scope({ deal_id: "d-42" });
   * ```
   */
  scope(context: ScopeContext): EventScope<Schemas> {
    return new EventScope<Schemas>(this.emit, bindContext(context, this.context), this.emitBatch);
  }

  /**
   * The input over the bound fields; a field the input gives wins, and unknown keys go on for the bus to name. Each
   * own field is read once; input that cannot be read (not an object, a throwing getter, a revoked Proxy) goes on
   * unchanged, so the bus refuses it with the error naming the field (and, in a batch, its index).
   */
  private withContext(input: EmitEventInput): EmitEventInput {
    let own: OwnEmitFields;
    try {
      own = readEmitInput(input);
    } catch {
      return input;
    }
    const merged: Record<string, unknown> = { ...this.context, ...own.unknown };
    for (const field of EVENT_FIELDS) if (own[field] !== undefined) merged[field] = own[field];
    return merged as unknown as EmitEventInput;
  }
}

/** Validates a scope context and merges it over `parent`. */
export function bindContext(
  context: unknown,
  parent?: BoundContext,
  newFlowId: () => string = randomFlowId,
): BoundContext {
  if (typeof context !== "object" || context === null || isArraySafe(context)) {
    const got = context === null ? "null" : typeof context === "object" ? "an array" : typeof context;
    throw EventValidationError.forField([], `scope context must be an object, got ${got}`);
  }
  let input: Record<string, unknown>;
  try {
    input = readOwnContext(context);
  } catch (error) {
    throw EventValidationError.forField([], `scope context could not be read: ${describeThrown(error)}`);
  }
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(input)) {
    if (!(CORRELATION_FIELDS as readonly string[]).includes(key)) {
      issues.push({ path: [key], message: `cannot be bound by a scope; use one of ${CORRELATION_FIELDS.join(", ")}` });
    }
  }
  const bound: Record<string, string> = {};
  for (const field of CORRELATION_FIELDS) {
    const value = input[field];
    if (value === undefined) {
      bound[field] = parent?.[field] ?? (field === "flow_id" ? newFlowId() : "");
    } else if (typeof value !== "string") {
      issues.push({ path: [field], message: `must be a string, got ${value === null ? "null" : typeof value}` });
    } else if (value.length > MAX_ID_LENGTH) {
      issues.push({ path: [field], message: `must be at most ${MAX_ID_LENGTH} characters` });
    } else bound[field] = value;
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return Object.freeze(bound) as BoundContext;
}

/** The context's own enumerable properties, each read once, into a plain object (getters and Proxies stay behind). */
function readOwnContext(context: object): Record<string, unknown> {
  const own: Record<string, unknown> = Object.create(null);
  const keys = Object.keys(context);
  if (keys.length > 64) throw new RangeError(`it has ${keys.length} keys`);
  for (const key of keys) own[key] = (context as Record<string, unknown>)[key];
  return own;
}

/** Array.isArray, false for a revoked Proxy (which the read that follows reports). */
function isArraySafe(value: object): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}
