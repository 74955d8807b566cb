import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import { readOwnFields } from "../../event/envelopes/foreign-event.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import type { EventSink, ForwardedEvent } from "../forwarding/forward-events.js";

/**
 * What `natsJetStreamSink` needs of a JetStream client: `publish` with a message id, resolving with the stream's
 * ack. The client of `@nats-io/jetstream` (`jetstream(connection)`) fits; the library never imports it.
 *
 * @example
 * ```ts
 * import { jetstream } from "@nats-io/jetstream";
 * const client: JetStreamPublisher = jetstream(connection);
 * ```
 */
export interface JetStreamPublisher {
  publish(
    subject: string,
    payload: string,
    options: { msgID: string },
  ): Promise<{ readonly stream: string; readonly seq: number; readonly duplicate: boolean }>;
}

/**
 * Options of `natsJetStreamSink`.
 *
 * @example
 * ```ts
 * const options: NatsJetStreamSinkOptions = { jetstream: jetstream(connection), subject: (event) => `deals.${event.deal_id}` };
 * ```
 */
export interface NatsJetStreamSinkOptions {
  /** The JetStream client (`jetstream(connection)`); the caller owns its connection and closes it. */
  readonly jetstream: JetStreamPublisher;
  /** The subject of each event. Default `ad-seller-events.<event_type>`, e.g. `ad-seller-events.deal.created`. */
  readonly subject?: ((event: Event) => string) | undefined;
}

const OPTION_KEYS: OptionKeys<NatsJetStreamSinkOptions> = { jetstream: true, subject: true };
/** A NATS subject: dot-separated tokens without spaces or wildcards. */
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/**
 * A sink that publishes each event to NATS JetStream with `Nats-Msg-Id` = `event_id` and waits for the stream's
 * ack. Messages go one at a time, each after the previous ack, so a message lost in a reconnect can never be
 * overtaken by a later one: the stream keeps the forwarder's order. A batch sent again after an outage or a crash
 * is deduplicated by the stream within its duplicate window (default 2 minutes); the forwarder's checkpoint covers
 * longer gaps.
 *
 * @example
 * ```ts
 * const sink = natsJetStreamSink({ jetstream: jetstream(connection) });
 * forwardEvents(bus, sink, { name: "to-nats", format: "cloudevents", source: "/seller/acme" });
 * ```
 */
export function natsJetStreamSink(options: NatsJetStreamSinkOptions): EventSink {
  checkOptionKeys(options, OPTION_KEYS, "natsJetStreamSink");
  const read = readOwnFields(
    options,
    Object.keys(OPTION_KEYS),
    "natsJetStreamSink",
  ) as unknown as NatsJetStreamSinkOptions;
  const { jetstream, subject = defaultSubject } = read;
  if (typeof jetstream !== "object" || jetstream === null || typeof jetstream.publish !== "function") {
    throw EventValidationError.forField(
      "jetstream",
      `must be a JetStream client (jetstream(connection)), got ${showValue(jetstream)}`,
    );
  }
  if (typeof subject !== "function") {
    throw EventValidationError.forField("subject", `must be a function of the event, got ${showValue(subject)}`);
  }
  return {
    async send(batch: readonly ForwardedEvent[], { signal }) {
      for (const { event, body } of batch) {
        signal.throwIfAborted();
        await jetstream.publish(checkedSubject(subject(event), event), body, { msgID: event.event_id });
      }
    },
  };
}

function defaultSubject(event: Event): string {
  return `ad-seller-events.${event.event_type}`;
}

function checkedSubject(value: unknown, event: Event): string {
  if (typeof value === "string" && value.length <= 1024 && SUBJECT.test(value)) return value;
  throw EventValidationError.forField(
    "subject",
    `gave ${showValue(value)} for event ${event.event_id}: a subject is dot-separated tokens without spaces or wildcards`,
  );
}
