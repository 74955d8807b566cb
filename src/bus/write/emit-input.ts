import { EventValidationError } from "../../errors/error-classes.js";
import { type CorrelationField, EVENT_FIELDS, MAX_ID_LENGTH } from "../../event/event.js";
import { isUuid } from "../../event/event-id.js";
import { type EventType, isEventType } from "../../event/event-type.js";
import { describeThrown, isPortableString, type JsonObject, toFrozenJsonObject } from "../../event/json-value.js";
import { normalizeTimestamp } from "../../event/timestamp.js";

/** Emit input after validation: what `buildEmitInputSchema(...).parse` returns. */
export type ParsedEmitInput = {
  event_id?: string | undefined;
  event_type: EventType;
  timestamp?: string | undefined;
  payload: JsonObject;
  metadata: JsonObject;
} & { [K in CorrelationField]: string };

/**
 * The input's own enumerable string-keyed properties, each read exactly once: the event fields by name, anything
 * else in `unknown` (for the schema to name). Nothing inherited through the prototype counts.
 */
export interface OwnEmitFields {
  event_id: unknown;
  event_type: unknown;
  timestamp: unknown;
  flow_id: unknown;
  flow_type: unknown;
  proposal_id: unknown;
  deal_id: unknown;
  session_id: unknown;
  payload: unknown;
  metadata: unknown;
  unknown: Record<string, unknown> | undefined;
}

const INPUT_KEYS: ReadonlySet<string> = new Set(EVENT_FIELDS);
/** An input with more own keys than this is refused before any is read (an event has 10 fields). */
const MAX_INPUT_KEYS = 64;
/** Unknown keys reported per input; the rest are not read. */
const MAX_UNKNOWN_KEYS = 20;

/**
 * The emit hot path: accepts the common, valid input without going through zod and returns exactly what the zod
 * schema would. Anything unusual or invalid returns `undefined`, and the caller lets the schema decide and word
 * the errors; so this function may only ever be stricter than the schema, never looser. The one exception: when
 * every other field is valid and only `payload` or `metadata` is not, it throws the `EventValidationError` the
 * schema would throw, so that a payload is never walked twice.
 */
export function parseEmitInputFast(input: OwnEmitFields, maxPayloadBytes: number): ParsedEmitInput | undefined {
  if (input.unknown !== undefined) return undefined;
  const { event_type, event_id, timestamp } = input;
  if (!isEventType(event_type)) return undefined;
  if (event_id !== undefined && !isUuid(event_id)) return undefined;
  const normalizedTime = timestamp === undefined ? undefined : normalizeTimestamp(timestamp);
  if (normalizedTime === null) return undefined;
  const flow_id = correlationValue(input.flow_id);
  const flow_type = correlationValue(input.flow_type);
  const proposal_id = correlationValue(input.proposal_id);
  const deal_id = correlationValue(input.deal_id);
  const session_id = correlationValue(input.session_id);
  if (flow_id === null || flow_type === null || proposal_id === null || deal_id === null || session_id === null) {
    return undefined;
  }
  const payload = toFrozenJsonObject(input.payload, ["payload"], maxPayloadBytes);
  const metadata = toFrozenJsonObject(input.metadata, ["metadata"], maxPayloadBytes);
  if (!payload.ok || !metadata.ok) {
    // Every other field is valid, so these are exactly the issues the schema would report: report them without
    // walking a (possibly huge) payload a second time.
    throw new EventValidationError([...(payload.ok ? [] : payload.issues), ...(metadata.ok ? [] : metadata.issues)]);
  }
  const parsed: ParsedEmitInput = {
    event_type,
    flow_id,
    flow_type,
    proposal_id,
    deal_id,
    session_id,
    payload: payload.value,
    metadata: metadata.value,
  };
  if (event_id !== undefined) parsed.event_id = event_id;
  if (normalizedTime !== undefined) parsed.timestamp = normalizedTime;
  return parsed;
}

function correlationValue(value: unknown): string | null {
  if (value === undefined) return "";
  return typeof value === "string" && value.length <= MAX_ID_LENGTH && isPortableString(value) ? value : null;
}

/** Checks that `emitEvent` got an object (not null, not an array) and reads its own fields. */
export function readEmitInput(input: unknown): OwnEmitFields {
  let got: string | undefined;
  try {
    if (typeof input !== "object" || input === null) got = input === null ? "null" : typeof input;
    else if (Array.isArray(input)) got = "an array";
  } catch (error) {
    // Array.isArray throws for a revoked Proxy.
    throw EventValidationError.forField([], `could not be read: ${describeThrown(error)}`);
  }
  if (got !== undefined) {
    throw EventValidationError.forField([], `emitEvent takes an object with at least event_type, got ${got}`);
  }
  return readOwnFields(input as object);
}

/**
 * Reads the caller's input into {@link OwnEmitFields}: own enumerable string keys only (symbol keys are not fields
 * and are ignored, as JSON ignores them), each value read once. Whatever the input does when read (a getter that
 * throws, a Proxy whose traps throw, a revoked Proxy), the result is an `EventValidationError` naming the field.
 */
export function readOwnFields(input: object): OwnEmitFields {
  const own: OwnEmitFields = {
    event_id: undefined,
    event_type: undefined,
    timestamp: undefined,
    flow_id: undefined,
    flow_type: undefined,
    proposal_id: undefined,
    deal_id: undefined,
    session_id: undefined,
    payload: undefined,
    metadata: undefined,
    unknown: undefined,
  };
  let key: string | undefined;
  try {
    const keys = Object.keys(input);
    if (keys.length > MAX_INPUT_KEYS) {
      const message = `has ${keys.length} own keys; an event has ${EVENT_FIELDS.length} fields`;
      throw EventValidationError.forField([], message);
    }
    const fields = own as unknown as Record<string, unknown>;
    const source = input as Record<string, unknown>;
    let unknownCount = 0;
    for (key of keys) {
      if (INPUT_KEYS.has(key)) fields[key] = source[key];
      else if (unknownCount++ < MAX_UNKNOWN_KEYS) {
        own.unknown ??= Object.create(null) as Record<string, unknown>;
        own.unknown[key] = undefined;
      }
    }
  } catch (error) {
    if (error instanceof EventValidationError) throw error;
    const path = key === undefined ? [] : [key];
    throw EventValidationError.forField(path, `could not be read: ${describeThrown(error)}`);
  }
  return own;
}

/** What the schema parses on the slow path: the own fields that are set, and the unknown keys for it to name. */
export function schemaInputOf(own: OwnEmitFields): Record<string, unknown> {
  const input: Record<string, unknown> = Object.create(null);
  for (const field of EVENT_FIELDS) if (own[field] !== undefined) input[field] = own[field];
  if (own.unknown !== undefined) Object.assign(input, own.unknown);
  return input;
}
