/**
 * Forwarding to RabbitMQ (AMQP 0-9-1).
 *
 * @module ad-seller-events/amqp
 */
export { type AmqpConfirmChannel, type AmqpSinkOptions, amqpSink } from "./amqp-sink.js";
