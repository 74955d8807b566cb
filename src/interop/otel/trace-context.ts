import { type Link, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import type { Event } from "../../event/event.js";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
/** W3C caps tracestate at 32 list members; 512 characters is the size propagators are asked to keep. */
const MAX_TRACESTATE = 512;

/** The span context as W3C `traceparent` (version 00) and, when it has one, `tracestate`. */
export function formatTraceContext(spanContext: SpanContext): { traceparent: string; tracestate?: string } {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, "0");
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The creation context an event carries in `metadata.traceparent` (and `tracestate`), as a span link, or
 * `undefined` when it has none or a malformed one: a bad header in one event never breaks processing.
 */
export function creationLink(event: Event): Link | undefined {
  const { traceparent } = event.metadata;
  if (typeof traceparent !== "string") return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return undefined;
  const [, traceId = ZERO_TRACE, spanId = ZERO_SPAN, flags = "00"] = match;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const context: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (!trace.isSpanContextValid(context)) return undefined;
  return { context, attributes: { "messaging.message.id": event.event_id } };
}

/** `metadata` with the trace context added, unless the caller already put one there (an imported event keeps its own). */
export function withTraceContext(
  metadata: Readonly<Record<string, unknown>> | undefined,
  spanContext: SpanContext,
): Readonly<Record<string, unknown>> | undefined {
  if (!trace.isSpanContextValid(spanContext)) return metadata;
  const { traceparent, tracestate } = formatTraceContext(spanContext);
  const added =
    tracestate !== undefined && tracestate.length <= MAX_TRACESTATE ? { traceparent, tracestate } : { traceparent };
  try {
    if (metadata === undefined) return added;
    if (typeof metadata !== "object" || metadata === null || "traceparent" in metadata) return metadata;
    return { ...metadata, ...added };
  } catch {
    return metadata; // a hostile object: the bus's own validation names it
  }
}
