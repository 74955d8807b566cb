import { type CorrelationField, type EmitEventInput, EVENT_FIELDS, MAX_ID_LENGTH } from "./event.js";
import { type EventType, isEventType } from "./event-type.js";
import { isPortableString, type JsonObject, toFrozenJsonObject } from "./json.js";
import { normalizeTimestamp } from "./timestamp.js";

/** Emit input after validation: what `buildEmitInputSchema(...).parse` returns. */
export type ParsedEmitInput = {
  event_id?: string | undefined;
  event_type: EventType;
  timestamp?: string | undefined;
  payload: JsonObject;
  metadata: JsonObject;
} & { [K in CorrelationField]: string };

const INPUT_KEYS: ReadonlySet<string> = new Set(EVENT_FIELDS);
// RFC 9562: version 1-8 and variant 10xx, or the nil and max UUIDs.
const RFC_9562_UUID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

/**
 * The emit hot path: accepts the common, valid input without going through zod and returns exactly what the zod
 * schema would. Anything unusual or invalid returns `undefined`, and the caller lets the schema decide and word
 * the errors; so this function may only ever be stricter than the schema, never looser.
 */
export function parseEmitInputFast(input: EmitEventInput, maxPayloadBytes: number): ParsedEmitInput | undefined {
  for (const key in input) if (!Object.hasOwn(input, key) || !INPUT_KEYS.has(key)) return undefined;
  const { event_type, event_id, timestamp } = input;
  if (!isEventType(event_type)) return undefined;
  if (event_id !== undefined && !(typeof event_id === "string" && RFC_9562_UUID.test(event_id))) return undefined;
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
  if (!payload.ok || !metadata.ok) return undefined;
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
