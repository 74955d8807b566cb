/**
 * Forwarding to NATS JetStream.
 *
 * @module ad-seller-events/nats
 */
export {
  type JetStreamPublisher,
  type NatsJetStreamSinkOptions,
  natsJetStreamSink,
} from "./nats-sink.js";
