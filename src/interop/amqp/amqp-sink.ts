import { EventValidationError } from "../../errors/error-classes.js";
import { checkOptionKeys, type OptionKeys } from "../../errors/option-keys.js";
import { readOwnFields } from "../../event/envelopes/foreign-event.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import type { EventSink, ForwardedEvent } from "../forwarding/forward-events.js";

/**
 * What `amqpSink` needs of an AMQP 0-9-1 confirm channel: amqplib's `ConfirmChannel`
 * (`await connection.createConfirmChannel()`) fits; the library never imports amqplib.
 *
 * @example
 * ```ts
 * const channel: AmqpConfirmChannel = await connection.createConfirmChannel();
 * ```
 */
export interface AmqpConfirmChannel {
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: { persistent: boolean; messageId: string; contentType: string; type: string; timestamp: number },
  ): boolean;
  waitForConfirms(): Promise<void>;
  once(event: "drain" | "close", listener: () => void): unknown;
  off?(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Options of `amqpSink`.
 *
 * @example
 * ```ts
 * const options: AmqpSinkOptions = { channel, exchange: "seller-events", routingKey: (event) => event.event_type };
 * ```
 */
export interface AmqpSinkOptions {
  /**
   * The confirm channel, or a function returning the one to use now (called once per batch), so that a
   * connection re-opened after a broker outage is picked up. The caller owns the connection.
   */
  readonly channel: AmqpConfirmChannel | (() => AmqpConfirmChannel | Promise<AmqpConfirmChannel>);
  /** The exchange to publish to (`""`: the default exchange, where the routing key names a queue). */
  readonly exchange: string;
  /** The routing key of each event. Default: its `event_type`, e.g. `deal.created`. */
  readonly routingKey?: ((event: Event) => string) | undefined;
}

const OPTION_KEYS: OptionKeys<AmqpSinkOptions> = { channel: true, exchange: true, routingKey: true };

/**
 * A sink that publishes each event to a RabbitMQ (AMQP 0-9-1) exchange as a persistent message with `message_id` =
 * `event_id`, `type` = `event_type` and the format's `content_type`, then waits for the broker's publisher confirms
 * of the whole batch. One channel keeps the batch's order. RabbitMQ does not deduplicate: a batch sent again after
 * an outage or a crash arrives again (same `message_id`), after the copies already stored, so consumers keep the
 * first copy of each `message_id`.
 *
 * @example
 * ```ts
 * const channel = await connection.createConfirmChannel();
 * forwardEvents(bus, amqpSink({ channel, exchange: "seller-events" }), { name: "to-rabbitmq" });
 * ```
 */
export function amqpSink(options: AmqpSinkOptions): EventSink {
  checkOptionKeys(options, OPTION_KEYS, "amqpSink");
  const read = readOwnFields(options, Object.keys(OPTION_KEYS), "amqpSink") as unknown as AmqpSinkOptions;
  const { channel, exchange, routingKey = (event: Event) => event.event_type } = read;
  const current = typeof channel === "function" ? channel : () => channel;
  if (typeof channel !== "function" && !isChannel(channel)) {
    throw EventValidationError.forField(
      "channel",
      `must be a confirm channel (createConfirmChannel()) or a function returning one, got ${showValue(channel)}`,
    );
  }
  if (typeof exchange !== "string" || exchange.length > 255) {
    throw EventValidationError.forField(
      "exchange",
      `must be an exchange name ("" for the default exchange), got ${showValue(exchange)}`,
    );
  }
  if (typeof routingKey !== "function") {
    throw EventValidationError.forField("routingKey", `must be a function of the event, got ${showValue(routingKey)}`);
  }
  return {
    async send(batch: readonly ForwardedEvent[], { signal }) {
      const open = await current();
      if (!isChannel(open))
        throw EventValidationError.forField("channel", `returned ${showValue(open)}, not a confirm channel`);
      for (const { event, body, contentType } of batch) {
        signal.throwIfAborted();
        const key = routingKey(event);
        if (typeof key !== "string" || key.length > 255) {
          throw EventValidationError.forField(
            "routingKey",
            `gave ${showValue(key)} for event ${event.event_id}: a routing key is a string of at most 255 bytes`,
          );
        }
        const properties = {
          persistent: true,
          messageId: event.event_id,
          contentType,
          type: event.event_type,
          timestamp: (Date.parse(event.timestamp) / 1000) | 0,
        };
        if (!open.publish(exchange, key, Buffer.from(body), properties)) await drained(open);
      }
      await open.waitForConfirms();
    },
  };
}

function isChannel(value: unknown): value is AmqpConfirmChannel {
  const candidate = value as AmqpConfirmChannel | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.publish === "function" &&
    typeof candidate.waitForConfirms === "function"
  );
}

/** Waits until the channel's write buffer has room again, or the channel closed (the confirms then fail). */
function drained(channel: AmqpConfirmChannel): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      channel.off?.("drain", done);
      channel.off?.("close", done);
      resolve();
    };
    channel.once("drain", done);
    channel.once("close", done);
  });
}
