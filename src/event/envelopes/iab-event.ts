import { EventValidationError } from "../../errors/error-classes.js";
import type { Event } from "../event.js";
import type { JsonObject, JsonValue } from "../json-value.js";
import { describeThrown, showValue } from "../json-value.js";
import { checkEventShape, checkZonedTimestamp, readOwnFields, toValidEvent } from "./foreign-event.js";

/**
 * An event in the IAB Tech Lab agentic-primitives envelope (v0.5.1), the contract buyer and seller agents share:
 * `occurred_at` instead of `timestamp`, the emitting side in `source_agent`, correlation ids `null` when absent,
 * `flow_id`, `flow_type` and `payload` inside `metadata`.
 *
 * @example
 * ```ts
 * const iab: IabEvent = toIabEvent(event);
 * iab.source_agent; // "seller"
 * ```
 */
export interface IabEvent {
  readonly event_id: string;
  /** The canonical type: the seller's, with `approval.denied` renamed `approval.rejected`. */
  readonly event_type: string;
  /** The event's time, UTC with a `Z`. */
  readonly occurred_at: string;
  readonly source_agent: "buyer" | "seller";
  readonly deal_id: string | null;
  readonly order_id: string | null;
  readonly proposal_id: string | null;
  readonly campaign_id: string | null;
  readonly session_id: string | null;
  /** The event's metadata, plus `flow_id`, `flow_type` (when set) and `payload`. */
  readonly metadata: JsonObject;
}

/** Seller type -> canonical IAB type, where they differ. */
const IAB_TYPE_OF: Readonly<Record<string, string>> = { "approval.denied": "approval.rejected" };
const SELLER_TYPE_OF: Readonly<Record<string, string>> = { "approval.rejected": "approval.denied" };
/** Envelope ids the seller's event has no field for: kept in `metadata` under the same name. */
const METADATA_IDS = ["order_id", "campaign_id"] as const;
const ENVELOPE_FIELDS = [
  "event_id",
  "event_type",
  "occurred_at",
  "source_agent",
  "deal_id",
  "order_id",
  "proposal_id",
  "campaign_id",
  "session_id",
  "metadata",
];
const FIELD_NAMES: Readonly<Record<string, string>> = {
  timestamp: "occurred_at",
  flow_id: "metadata.flow_id",
  flow_type: "metadata.flow_type",
  payload: "metadata.payload",
};

/**
 * The event in the IAB canonical envelope. Empty correlation ids become `null`; `order_id` and `campaign_id` come
 * from `metadata` when it holds them as strings (that is where `fromIabEvent` keeps them), else `null`. An event's
 * own `flow_id`, `flow_type` and `payload` take those three names in `metadata`.
 *
 * @example
 * ```ts
 * const iab = toIabEvent(await bus.emitEvent({ event_type: "approval.denied", deal_id: "d-1" }));
 * iab.event_type; // "approval.rejected"
 * iab.session_id; // null
 * ```
 */
export function toIabEvent(event: Event): IabEvent {
  checkEventShape(event, "toIabEvent");
  const { order_id, campaign_id, source_agent, ...rest } = event.metadata;
  const metadata: Record<string, JsonValue> = { ...rest };
  if (event.flow_id !== "") metadata.flow_id = event.flow_id;
  if (event.flow_type !== "") metadata.flow_type = event.flow_type;
  metadata.payload = event.payload;
  return {
    event_id: event.event_id,
    event_type: IAB_TYPE_OF[event.event_type] ?? event.event_type,
    occurred_at: event.timestamp,
    source_agent: source_agent === "buyer" ? "buyer" : "seller",
    deal_id: event.deal_id || null,
    order_id: typeof order_id === "string" ? order_id : null,
    proposal_id: event.proposal_id || null,
    campaign_id: typeof campaign_id === "string" ? campaign_id : null,
    session_id: event.session_id || null,
    metadata,
  };
}

/**
 * The seller event an IAB envelope describes: the reverse of `toIabEvent`. Unknown fields and `x_` fields are
 * ignored; `approval.rejected` becomes `approval.denied`; a buyer-side `source_agent`, `order_id` and
 * `campaign_id` are kept in `metadata`. Refuses, with an `EventValidationError` naming the field: an
 * `occurred_at` without a zone, a type outside the seller's 22 (and the alias), a `source_agent` other than
 * `"buyer"` or `"seller"`, ids that are neither strings nor `null`.
 *
 * @example
 * ```ts
 * const event = fromIabEvent(JSON.parse(message));
 * await bus.emitEvent(event);
 * ```
 */
export function fromIabEvent(input: unknown): Event {
  const envelope = readOwnFields(input, ENVELOPE_FIELDS, "fromIabEvent");
  checkZonedTimestamp(envelope.occurred_at, "occurred_at");
  const sourceAgent = envelope.source_agent;
  if (sourceAgent !== "seller" && sourceAgent !== "buyer") {
    throw EventValidationError.forField("source_agent", `must be "buyer" or "seller", got ${showValue(sourceAgent)}`);
  }
  const given = envelope.metadata ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw EventValidationError.forField("metadata", `must be a JSON object, got ${showValue(given)}`);
  }
  const inner = readOwnFields(given, ["flow_id", "flow_type", "payload"], "fromIabEvent metadata");
  const metadata = copyWithout(given, ["flow_id", "flow_type", "payload"]);
  for (const name of METADATA_IDS) {
    const value = nullableId(envelope[name], name);
    if (value !== "") metadata[name] = value;
  }
  if (sourceAgent === "buyer") metadata.source_agent = "buyer";
  const type = envelope.event_type;
  return toValidEvent(
    {
      event_id: envelope.event_id,
      event_type: typeof type === "string" ? (SELLER_TYPE_OF[type] ?? type) : type,
      timestamp: envelope.occurred_at,
      flow_id: inner.flow_id ?? "",
      flow_type: inner.flow_type ?? "",
      proposal_id: nullableId(envelope.proposal_id, "proposal_id"),
      deal_id: nullableId(envelope.deal_id, "deal_id"),
      session_id: nullableId(envelope.session_id, "session_id"),
      payload: inner.payload ?? {},
      metadata,
    },
    FIELD_NAMES,
  );
}

/** A copy of the caller's object minus the named keys; a hostile object (throwing getter, Proxy) names the field. */
function copyWithout(value: object, dropped: readonly string[]): Record<string, unknown> {
  try {
    const copy: Record<string, unknown> = { ...value };
    for (const key of dropped) delete copy[key];
    return copy;
  } catch (error) {
    throw EventValidationError.forField("metadata", `could not be read: ${describeThrown(error)}`);
  }
}

function nullableId(value: unknown, field: string): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string")
    throw EventValidationError.forField(field, `must be a string or null, got ${showValue(value)}`);
  return value;
}
