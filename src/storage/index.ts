export { AppendNotifier } from "./kit/append-notifier.js";
export { parseStoredEvent, wireJson } from "./kit/stored-event.js";
export type {
  AppendOutcome,
  CheckpointStore,
  CheckpointWrite,
  ConsumerLease,
  DeadLetter,
  DigestRecord,
  DigestStore,
  EventStorage,
  NormalizedEventQuery,
  PruneOptions,
  StorageWatch,
  TransactionalAppend,
  WebhookLogQuery,
  WebhookLogRecord,
  WebhookStore,
} from "./types.js";
