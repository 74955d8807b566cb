import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import type { Event } from "../event.js";
import type { JsonObject } from "../json-value.js";
import { showValue } from "../json-value.js";
import { checkEventShape, checkZonedTimestamp, readOwnFields, toValidEvent } from "./foreign-event.js";

/**
 * A CloudEvents 1.0 event in the JSON format, as `toCloudEvent` writes it: the required context attributes, `time`,
 * `subject`, `datacontenttype`, the payload as `data`, and the seller's correlation ids as extension attributes.
 *
 * @example
 * ```ts
 * const cloudEvent: CloudEventJson = toCloudEvent(event, { source: "/seller/acme" });
 * cloudEvent.dealid; // "d-1"
 * ```
 */
export interface CloudEventJson {
  readonly specversion: "1.0";
  /** The `event_id`. */
  readonly id: string;
  /** Who emitted it, a URI reference (the `source` option). */
  readonly source: string;
  /** The `event_type`, e.g. `"deal.created"`. */
  readonly type: string;
  /** The `timestamp` (RFC 3339, UTC). */
  readonly time: string;
  /** The first correlation id set among `deal_id`, `proposal_id`, `session_id`; absent when none is. */
  readonly subject?: string;
  readonly datacontenttype: "application/json";
  /** The `payload`. */
  readonly data: JsonObject;
  /** Extension attributes: `flowid`, `flowtype`, `proposalid`, `dealid`, `sessionid`, `metadata`, `traceparent`... */
  readonly [extension: string]: unknown;
}

/**
 * Options of `toCloudEvent`, `toCloudEventHttp` and `toCloudEventBatch`.
 *
 * @example
 * ```ts
 * const options: CloudEventOptions = { source: "https://seller.example/agents/42" };
 * ```
 */
export interface CloudEventOptions {
  /** The CloudEvents `source`: a non-empty URI reference naming this seller agent, e.g. `"/seller/acme"`. */
  readonly source: string;
}

const OPTION_KEYS: OptionKeys<CloudEventOptions> = { source: true };

/**
 * Correlation field -> extension attribute. CloudEvents allows lower-case letters and digits only in attribute
 * names, so the underscore goes.
 *
 * @example
 * ```ts
 * const dealId = cloudEvent[CLOUD_EVENT_EXTENSIONS.deal_id]; // cloudEvent.dealid
 * ```
 */
export const CLOUD_EVENT_EXTENSIONS = {
  flow_id: "flowid",
  flow_type: "flowtype",
  proposal_id: "proposalid",
  deal_id: "dealid",
  session_id: "sessionid",
} as const;
/** The W3C trace context, as in the CloudEvents distributed-tracing extension. */
const TRACE_ATTRIBUTES = ["traceparent", "tracestate"] as const;
const SUBJECT_FIELDS = ["deal_id", "proposal_id", "session_id"] as const;
const CONTEXT_ATTRIBUTES = ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"];
const READ_ATTRIBUTES = [
  ...CONTEXT_ATTRIBUTES,
  "data_base64",
  ...Object.values(CLOUD_EVENT_EXTENSIONS),
  "metadata",
  ...TRACE_ATTRIBUTES,
];
/** Where each event field comes from, for error messages. */
const FIELD_NAMES: Readonly<Record<string, string>> = {
  event_id: "id",
  event_type: "type",
  timestamp: "time",
  payload: "data",
  ...CLOUD_EVENT_EXTENSIONS,
};

/**
 * The event as a CloudEvents 1.0 event (JSON format). `metadata` travels as the `metadata` extension (its JSON
 * text), except `traceparent` and `tracestate`, which become the distributed-tracing extension attributes.
 *
 * @example
 * ```ts
 * const cloudEvent = toCloudEvent(event, { source: "/seller/acme" });
 * await fetch(router, { method: "POST", headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify(cloudEvent) });
 * ```
 */
export function toCloudEvent(event: Event, options: CloudEventOptions): CloudEventJson {
  return cloudEventOf(event, readSource(options));
}

/** The checked `source` option. */
export function readSource(options: CloudEventOptions): string {
  checkOptionKeys(options, OPTION_KEYS, "toCloudEvent");
  const { source } = readOwnFields(options, ["source"], "toCloudEvent");
  if (typeof source !== "string" || source.trim() === "" || source.length > 2048) {
    throw EventValidationError.forField(
      "source",
      `must be a non-empty URI reference such as "/seller/acme", got ${showValue(source)}`,
    );
  }
  return source;
}

/** `toCloudEvent` with a checked source. */
export function cloudEventOf(event: Event, source: string): CloudEventJson {
  checkEventShape(event, "toCloudEvent");
  const cloudEvent: Record<string, unknown> = {
    specversion: "1.0",
    id: event.event_id,
    source,
    type: event.event_type,
    time: event.timestamp,
  };
  const subject = SUBJECT_FIELDS.map((field) => event[field]).find((value) => value !== "");
  if (subject !== undefined) cloudEvent.subject = subject;
  cloudEvent.datacontenttype = "application/json";
  cloudEvent.data = event.payload;
  for (const [field, attribute] of Object.entries(CLOUD_EVENT_EXTENSIONS)) {
    const value = event[field as keyof typeof CLOUD_EVENT_EXTENSIONS];
    if (value !== "") cloudEvent[attribute] = value;
  }
  const { traceparent, tracestate, ...rest } = event.metadata;
  if (typeof traceparent === "string") cloudEvent.traceparent = traceparent;
  if (typeof tracestate === "string") cloudEvent.tracestate = tracestate;
  const kept = typeof traceparent === "string" || typeof tracestate === "string" ? rest : event.metadata;
  if (Object.keys(kept).length > 0) cloudEvent.metadata = JSON.stringify(kept);
  return cloudEvent as CloudEventJson;
}

/**
 * The event a CloudEvent carries: the reverse of `toCloudEvent`. Takes the JSON format (parsed) or an SDK
 * `CloudEvent`. Refuses, with an `EventValidationError` naming the attribute: a `specversion` other than `1.0`,
 * an `id` that is not a UUID, a `type` outside the 22, a `time` without a zone, `data` that is not a JSON object,
 * a `datacontenttype` other than JSON.
 *
 * @example
 * ```ts
 * const event = fromCloudEvent(JSON.parse(body));
 * await bus.emitEvent(event); // the same event_id again with the same content is a no-op
 * ```
 */
export function fromCloudEvent(cloudEvent: unknown): Event {
  const attributes = readOwnFields(cloudEvent, READ_ATTRIBUTES, "fromCloudEvent");
  if (attributes.specversion !== "1.0") {
    throw EventValidationError.forField("specversion", `must be "1.0", got ${showValue(attributes.specversion)}`);
  }
  const contentType = attributes.datacontenttype;
  if (
    contentType !== undefined &&
    !(typeof contentType === "string" && /^application\/([\w.+-]+\+)?json\b/i.test(contentType))
  ) {
    throw EventValidationError.forField("datacontenttype", `must be application/json, got ${showValue(contentType)}`);
  }
  checkZonedTimestamp(attributes.time, "time");
  const fields: Record<string, unknown> = {
    event_id: attributes.id,
    event_type: attributes.type,
    timestamp: attributes.time,
    payload: readData(attributes),
    metadata: readMetadata(attributes),
  };
  for (const [field, attribute] of Object.entries(CLOUD_EVENT_EXTENSIONS)) {
    const value = attributes[attribute];
    if (value !== undefined) fields[field] = value;
  }
  return toValidEvent(fields, FIELD_NAMES);
}

function readData(attributes: Readonly<Record<string, unknown>>): unknown {
  if (attributes.data_base64 !== undefined) {
    throw EventValidationError.forField(
      "data_base64",
      "is binary data; the seller's events carry a JSON object in data",
    );
  }
  const { data } = attributes;
  if (data === undefined || data === null) return {};
  if (typeof data !== "string") return data;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw EventValidationError.forField("data", `must be a JSON object, got ${showValue(data)}`);
  }
}

function readMetadata(attributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let metadata: Record<string, unknown> = {};
  const text = attributes.metadata;
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = typeof text === "string" ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw EventValidationError.forField("metadata", `must be the JSON text of an object, got ${showValue(text)}`);
    }
    metadata = parsed as Record<string, unknown>;
  }
  for (const name of TRACE_ATTRIBUTES) {
    const value = attributes[name];
    if (value === undefined) continue;
    if (typeof value !== "string")
      throw EventValidationError.forField(name, `must be a string, got ${showValue(value)}`);
    metadata = { ...metadata, [name]: value };
  }
  return metadata;
}
