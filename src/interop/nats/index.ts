// The entry `ad-seller-events/nats` (DESIGN section 22): forwarding to NATS JetStream.
export {
  type JetStreamPublisher,
  type NatsJetStreamSinkOptions,
  natsJetStreamSink,
} from "./nats-sink.js";
