import * as z from "zod";
import { describeBadType, EVENT_TYPES, type EventType } from "./event-type.js";
import {
  isPortableString,
  type JsonObject,
  PORTABLE_STRING_RULE,
  showValue,
  toFrozenJsonObject,
} from "./json-value.js";
import { normalizeTimestamp } from "./timestamp.js";

/** Default cap on the serialised size of `payload` and of `metadata`, each: 64 KiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Longest accepted `flow_id`, `flow_type`, `proposal_id`, `deal_id` or `session_id`. */
export const MAX_ID_LENGTH = 256;

/** The correlation fields every event carries, `""` when not set. */
export const CORRELATION_FIELDS = ["flow_id", "flow_type", "proposal_id", "deal_id", "session_id"] as const;
/**
 * Every field of an event, in wire order.
 *
 * @example
 * ```ts
 * const header = EVENT_FIELDS.join(","); // a CSV export in wire order
 * ```
 */
export const EVENT_FIELDS = [
  "event_id",
  "event_type",
  "timestamp",
  ...CORRELATION_FIELDS,
  "payload",
  "metadata",
] as const;

/** One of the correlation fields, usable as a `listEvents` filter. */
export type CorrelationField = (typeof CORRELATION_FIELDS)[number];

const correlationId = z
  .string({ error: (issue) => `must be a string, got ${issue.input === null ? "null" : typeof issue.input}` })
  .max(MAX_ID_LENGTH, { error: `must be at most ${MAX_ID_LENGTH} characters` })
  // An over-long string is already refused; never scan a huge one.
  .refine((value) => value.length > MAX_ID_LENGTH || isPortableString(value), { error: PORTABLE_STRING_RULE })
  .default("");

const eventTypeField = z.enum(EVENT_TYPES as [EventType, ...EventType[]], {
  error: (issue) =>
    issue.input === undefined
      ? 'is required: one of EVENT_TYPES, such as "deal.created"'
      : describeBadType(issue.input),
});

const eventIdField = z.uuid({ error: "must be a UUID (RFC 9562), e.g. crypto.randomUUID()" });

const timestampField = z
  .unknown()
  .optional()
  .transform((value, context): string => {
    const normalized = normalizeTimestamp(value);
    if (normalized === null) {
      context.issues.push({
        code: "custom",
        input: value,
        message: `must be an ISO-8601 timestamp such as 2026-11-24T10:15:30.123Z, got ${showValue(value)}`,
      });
      return z.NEVER;
    }
    return normalized;
  });

function jsonObjectField(maxBytes: number) {
  return z
    .unknown()
    .optional()
    .transform((value, context): JsonObject => {
      const result = toFrozenJsonObject(value, [], maxBytes);
      if (result.ok) return result.value;
      for (const issue of result.issues) {
        context.issues.push({ code: "custom", input: value, path: [...issue.path], message: issue.message });
      }
      return z.NEVER;
    });
}

function buildEventShape(maxBytes: number) {
  return {
    event_id: eventIdField,
    event_type: eventTypeField,
    timestamp: timestampField,
    flow_id: correlationId,
    flow_type: correlationId,
    proposal_id: correlationId,
    deal_id: correlationId,
    session_id: correlationId,
    payload: jsonObjectField(maxBytes),
    metadata: jsonObjectField(maxBytes),
  };
}

/**
 * The one schema of a stored event: what storage returns and what HTTP writes. Parsing normalises the timestamp to
 * UTC `Z`, fills absent correlation fields with `""`, and returns `payload` and `metadata` as deeply frozen copies.
 * Unknown keys are dropped. The payload size cap is a write-time policy of each bus (`maxPayloadBytes`), so it is
 * not applied here: an event stored by a bus with a larger cap stays readable.
 *
 * @example
 * ```ts
 * const event = eventSchema.parse(JSON.parse(await redis.get(`ad_seller:event:${id}`)));
 * ```
 */
export const eventSchema = z.object(buildEventShape(Number.POSITIVE_INFINITY));

/**
 * An immutable event, exactly as stored and as sent over HTTP (snake_case wire format). `Event` alone is any event;
 * `Event<"deal.created", DealPayload>` is one type with a typed payload (what a bus with `payloads` hands back, see
 * `EventOf`).
 *
 * @example
 * ```ts
 * const event: Event = await bus.emitEvent({ event_type: "deal.created", deal_id: "d-1" });
 * event.payload; // frozen: assigning to it throws in strict mode
 * ```
 */
export interface Event<Type extends EventType = EventType, Payload = JsonObject> {
  /** RFC 9562 UUID, lower case; stamped by the bus (`crypto.randomUUID()`) unless the emitter gave one. */
  readonly event_id: string;
  /** One of the 22 types, e.g. `"negotiation.round"`. */
  readonly event_type: Type;
  /** ISO-8601 UTC with milliseconds and `Z`, e.g. `2026-11-24T10:15:30.123Z`; set by the bus clock unless given. */
  readonly timestamp: string;
  /** The seller flow this event belongs to (`""` when none). */
  readonly flow_id: string;
  /** The kind of flow, e.g. `"proposal_handling"` (`""` when none). */
  readonly flow_type: string;
  /** The buyer proposal this event concerns (`""` when none). */
  readonly proposal_id: string;
  /** The deal this event concerns (`""` when none). */
  readonly deal_id: string;
  /** The agent session this event happened in (`""` when none). */
  readonly session_id: string;
  /** Event details, deeply frozen JSON; typed by the bus's `payloads` schema for this type, else `JsonObject`. */
  readonly payload: Payload;
  /** Context about the emitter (agent version, host...), deeply frozen JSON. */
  readonly metadata: JsonObject;
}

// The schema and the interface describe one shape: this line stops compiling if they drift apart.
type SchemaMatchesInterface =
  Readonly<z.output<typeof eventSchema>> extends Event
    ? Event extends Readonly<z.output<typeof eventSchema>>
      ? true
      : never
    : never;
const schemaMatchesInterface: SchemaMatchesInterface = true;
void schemaMatchesInterface;

/**
 * What `emitEvent` takes: an event type plus any correlation fields, payload and metadata. `event_id` and
 * `timestamp` are stamped by the bus unless given (for imports and safe retries). On a bus with `payloads`, the
 * payload of a type with a schema is typed as that schema's input.
 *
 * @example
 * ```ts
 * const input: EmitEventInput = { event_type: EventType.NEGOTIATION_ROUND, session_id, payload: { round: 2 } };
 * ```
 */
export interface EmitEventInput<Type extends EventType = EventType, Payload = Readonly<Record<string, unknown>>> {
  /** One of the 22 types, e.g. `EventType.DEAL_CREATED` or `"deal.created"`. */
  readonly event_type: Type;
  /** A UUID of your own; emitting it again with the same content returns the stored event (safe retries). */
  readonly event_id?: string | undefined;
  /** ISO-8601 time of the event; naive values are read as UTC. Defaults to the bus clock. */
  readonly timestamp?: string | Date | undefined;
  /** The seller flow this event belongs to. */
  readonly flow_id?: string | undefined;
  /** The kind of flow, e.g. `"proposal_handling"`. */
  readonly flow_type?: string | undefined;
  /** The buyer proposal this event concerns. */
  readonly proposal_id?: string | undefined;
  /** The deal this event concerns. */
  readonly deal_id?: string | undefined;
  /** The agent session this event happened in. */
  readonly session_id?: string | undefined;
  /** Event details: plain JSON only, at most `maxPayloadBytes` serialised; checked by the type's schema if any. */
  readonly payload?: Payload | undefined;
  /** Context about the emitter (agent version, host...): plain JSON only, same cap as `payload`. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/** Builds the strict schema for emit input: unknown keys are refused so a misspelt field never vanishes silently. */
export function buildEmitInputSchema(maxPayloadBytes: number) {
  const shape = buildEventShape(maxPayloadBytes);
  return z.strictObject(
    { ...shape, event_id: shape.event_id.optional(), timestamp: shape.timestamp.optional() },
    {
      error: (issue) => {
        if (issue.code === "unrecognized_keys") {
          return `is not a field of an event; use ${EVENT_FIELDS.join(", ")}`;
        }
        return undefined;
      },
    },
  );
}

/** The fields of an event other than the two the bus stamps. */
export type EventContent = Omit<Event, "event_id" | "timestamp">;

/**
 * Builds the `Event` as one frozen literal in wire order: an object built by a literal is several times cheaper to
 * freeze than one built by spreading, and the key order is the wire order. `payload` and `metadata` must already
 * be frozen.
 */
export function freezeEvent(content: EventContent, event_id: string, timestamp: string): Event {
  return Object.freeze({
    event_id,
    event_type: content.event_type,
    timestamp,
    flow_id: content.flow_id,
    flow_type: content.flow_type,
    proposal_id: content.proposal_id,
    deal_id: content.deal_id,
    session_id: content.session_id,
    payload: content.payload,
    metadata: content.metadata,
  });
}
