import { type Link, type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";

/**
 * `messaging.system` of every span and metric: the bus is the messaging system.
 *
 * @example
 * ```ts
 * const mine = spans.filter((span) => span.attributes["messaging.system"] === MESSAGING_SYSTEM);
 * ```
 */
export const MESSAGING_SYSTEM = "ad-seller-events";

/** Runs `work` in a new active span, ending it with an error status when `work` throws. */
export function traced<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.PRODUCER,
  links: Link[] = [],
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes, links }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
