// The entry `ad-seller-events/amqp` (DESIGN section 22): forwarding to RabbitMQ (AMQP 0-9-1).
export { type AmqpConfirmChannel, type AmqpSinkOptions, amqpSink } from "./amqp-sink.js";
