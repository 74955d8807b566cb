export { AppendNotifier } from "./kit/append-notifier.js";
export { parseStoredEvent, wireJson } from "./kit/stored-event.js";
export type {
  AppendOutcome,
  CheckpointStore,
  CheckpointWrite,
  ConsumerLease,
  DeadLetter,
  EventStorage,
  NormalizedEventQuery,
  PruneOptions,
  StorageWatch,
  TransactionalAppend,
} from "./types.js";
