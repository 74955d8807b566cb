/**
 * For adapter authors: the contract a store implements and the kit the built-in adapters share (stored-event parsing,
 * query normalizing and matching, the wake-up helper).
 *
 * @module ad-seller-events/storage
 */
export { EVENT_FIELDS } from "../event/event.js";
export { DEFAULT_LIMIT, MAX_LIMIT, matchesQuery, normalizeEventQuery, unknownCursorError } from "../event/query.js";
export { AppendNotifier } from "./kit/append-notifier.js";
export { parseStoredEvent, wireJson } from "./kit/stored-event.js";
export type {
  AppendOutcome,
  CheckpointStore,
  CheckpointWrite,
  ConsumerLease,
  ConsumerQuery,
  ConsumerRecord,
  DeadLetter,
  DigestRecord,
  DigestStore,
  EventStorage,
  NormalizedEventQuery,
  PruneHold,
  PruneOptions,
  StorageWatch,
  TransactionalAppend,
  WebhookLogQuery,
  WebhookLogRecord,
  WebhookStore,
} from "./types.js";
