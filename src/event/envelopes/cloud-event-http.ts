import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import type { Event } from "../event.js";
import { describeThrown, showValue } from "../json-value.js";
import { type CloudEventOptions, cloudEventOf, fromCloudEvent, readSource } from "./cloud-event.js";
import { readOwnFields } from "./foreign-event.js";

/**
 * A CloudEvent as an HTTP message: headers (lower-case names) and the body text.
 *
 * @example
 * ```ts
 * const { headers, body } = toCloudEventHttp(event, { source: "/seller/acme", mode: "binary" });
 * await fetch("https://router.example/events", { method: "POST", headers, body });
 * ```
 */
export interface CloudEventHttpMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Options of `toCloudEventHttp`.
 *
 * @example
 * ```ts
 * const options: CloudEventHttpOptions = { source: "/seller/acme", mode: "structured" };
 * ```
 */
export interface CloudEventHttpOptions extends CloudEventOptions {
  /**
   * `"binary"` (default): the context attributes as `ce-` headers and the payload as the JSON body.
   * `"structured"`: the whole CloudEvent as an `application/cloudevents+json` body.
   */
  readonly mode?: "binary" | "structured" | undefined;
}

/**
 * Headers of a received HTTP message: a Web `Headers` or a plain record such as node's `IncomingHttpHeaders`.
 *
 * @example
 * ```ts
 * const headers: CloudEventHttpHeaders = request.headers; // node IncomingMessage
 * ```
 */
export type CloudEventHttpHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

const HTTP_OPTION_KEYS: OptionKeys<CloudEventHttpOptions> = { source: true, mode: true };
const BATCH_OPTION_KEYS: OptionKeys<CloudEventOptions> = { source: true };
/**
 * Most CloudEvents one batch body may hold (written or read), to bound the work of one call.
 *
 * @example
 * ```ts
 * for (let index = 0; index < events.length; index += MAX_CLOUD_EVENT_BATCH) send(toCloudEventBatch(events.slice(index, index + MAX_CLOUD_EVENT_BATCH), options));
 * ```
 */
export const MAX_CLOUD_EVENT_BATCH = 10_000;
const STRUCTURED = "application/cloudevents+json";
const BATCH = "application/cloudevents-batch+json";
/** Printable ASCII but space, `"` and `%` travel as they are in a `ce-` header; the rest is percent-encoded. */
const HEADER_SAFE = /^[\x21\x23\x24\x26-\x7e]*$/;

/**
 * One event as a CloudEvents HTTP message, in binary (default) or structured mode.
 *
 * @example
 * ```ts
 * const { headers, body } = toCloudEventHttp(event, { source: "/seller/acme", mode: "structured" });
 * ```
 */
export function toCloudEventHttp(event: Event, options: CloudEventHttpOptions): CloudEventHttpMessage {
  checkOptionKeys(options, HTTP_OPTION_KEYS, "toCloudEventHttp");
  const read = readOwnFields(options, ["source", "mode"], "toCloudEventHttp");
  const mode = read.mode ?? "binary";
  if (mode !== "binary" && mode !== "structured") {
    throw EventValidationError.forField("mode", `must be "binary" or "structured", got ${showValue(mode)}`);
  }
  const cloudEvent = cloudEventOf(event, readSource({ source: read.source as string }));
  if (mode === "structured") {
    return { headers: { "content-type": `${STRUCTURED}; charset=utf-8` }, body: JSON.stringify(cloudEvent) };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(cloudEvent)) {
    if (name === "data" || name === "datacontenttype") continue;
    headers[`ce-${name}`] = encodeHeaderValue(String(value));
  }
  headers["content-type"] = "application/json; charset=utf-8";
  return { headers, body: JSON.stringify(cloudEvent.data) };
}

/**
 * Several events as one `application/cloudevents-batch+json` body (a JSON array of structured CloudEvents). Send a
 * batch only to a receiver that asked for them.
 *
 * @example
 * ```ts
 * const { headers, body } = toCloudEventBatch(events, { source: "/seller/acme" });
 * ```
 */
export function toCloudEventBatch(events: readonly Event[], options: CloudEventOptions): CloudEventHttpMessage {
  checkOptionKeys(options, BATCH_OPTION_KEYS, "toCloudEventBatch");
  const source = readSource({ source: options.source });
  if (!Array.isArray(events) || events.length > MAX_CLOUD_EVENT_BATCH) {
    throw EventValidationError.forField("events", `must be an array of at most ${MAX_CLOUD_EVENT_BATCH} events`);
  }
  const body = JSON.stringify(events.map((event) => cloudEventOf(event, source)));
  return { headers: { "content-type": `${BATCH}; charset=utf-8` }, body };
}

/**
 * The events of a received CloudEvents HTTP message, whichever the mode: binary (`ce-` headers), structured or a
 * batch. Always an array (one event for binary and structured). Refuses bad input with an `EventValidationError`
 * naming the attribute (`[3].time` in a batch).
 *
 * @example
 * ```ts
 * app.post("/cloudevents", express.text({ type: "*\/*" }), async (request, response) => {
 *   for (const event of fromCloudEventHttp({ headers: request.headers, body: request.body })) await bus.emitEvent(event);
 *   response.sendStatus(202);
 * });
 * ```
 */
export function fromCloudEventHttp(message: {
  readonly headers: CloudEventHttpHeaders;
  readonly body: string;
}): Event[] {
  const header = headerReader(message.headers);
  const body = message.body;
  if (typeof body !== "string")
    throw EventValidationError.forField("body", `must be the body text, got ${showValue(body)}`);
  const contentType = (header("content-type") ?? "").toLowerCase();
  if (contentType.startsWith(BATCH)) return readBatch(parseBody(body));
  if (contentType.startsWith(STRUCTURED)) return [fromCloudEvent(parseBody(body))];
  const attributes: Record<string, unknown> = {};
  for (const name of [
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "flowid",
    "flowtype",
    "proposalid",
    "dealid",
    "sessionid",
    "metadata",
    "traceparent",
    "tracestate",
  ]) {
    const value = header(`ce-${name}`);
    if (value !== null) attributes[name] = decodeHeaderValue(value, name);
  }
  if (attributes.specversion === undefined) {
    throw EventValidationError.forField("ce-specversion", "is missing: not a CloudEvents binary-mode message");
  }
  attributes.datacontenttype = contentType === "" ? undefined : contentType;
  attributes.data = body === "" ? undefined : parseBody(body);
  return [fromCloudEvent(attributes)];
}

function readBatch(parsed: unknown): Event[] {
  if (!Array.isArray(parsed) || parsed.length > MAX_CLOUD_EVENT_BATCH) {
    throw EventValidationError.forField("body", `must be a JSON array of at most ${MAX_CLOUD_EVENT_BATCH} CloudEvents`);
  }
  return parsed.map((item: unknown, index) => {
    try {
      return fromCloudEvent(item);
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      throw new EventValidationError(
        error.issues.map((issue) => ({ path: [index, ...issue.path], message: issue.message })),
      );
    }
  });
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw EventValidationError.forField("body", `is not JSON: ${describeThrown(error)}`);
  }
}

function headerReader(headers: CloudEventHttpHeaders): (name: string) => string | null {
  if (typeof headers !== "object" || headers === null) {
    throw EventValidationError.forField("headers", `must be a Headers object or a record, got ${showValue(headers)}`);
  }
  if (typeof headers.get === "function") return (name) => (headers as { get(name: string): string | null }).get(name);
  const lowered = new Map<string, string>();
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value === "string") lowered.set(name.toLowerCase(), value);
    else if (Array.isArray(value)) lowered.set(name.toLowerCase(), value.join(", "));
  }
  return (name) => lowered.get(name) ?? null;
}

function encodeHeaderValue(value: string): string {
  return HEADER_SAFE.test(value)
    ? value
    : value.replace(/[^\x21\x23\x24\x26-\x7e]/gu, (character) => encodeURIComponent(character).replace(/!/g, "%21"));
}

function decodeHeaderValue(value: string, name: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw EventValidationError.forField(`ce-${name}`, `is not valid percent-encoded UTF-8: ${showValue(value)}`);
  }
}
