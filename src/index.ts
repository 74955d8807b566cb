export type { EventBusOptions } from "./bus/event-bus.js";
export { EventBus } from "./bus/event-bus.js";
export type { BoundContext, ScopeContext } from "./bus/event-scope.js";
export { EventScope } from "./bus/event-scope.js";
export type { EventJsonPage, EventPage } from "./bus/read/event-page.js";
export type { EventListener, SubscribeOptions } from "./bus/subscriptions.js";
export type { EmitOptions } from "./bus/write/emit-transaction.js";
export type { EventOutbox, OutboxSink, OutboxStatus, ReplayOutcome } from "./bus/write/outbox-contract.js";
export type { ConsumerGap, ConsumerState, ConsumerStatus } from "./consumers/consumer.js";
export { Consumer } from "./consumers/consumer.js";
export type {
  ConsumeOptions,
  ConsumerHandler,
  ConsumerHandlerContext,
  ConsumerRetryOptions,
} from "./consumers/consumer-options.js";
export type { RetainedPosition, ValidationIssue } from "./errors/error-classes.js";
export {
  capIssues,
  EventBusError,
  EventConflictError,
  EventGapError,
  EventValidationError,
  MAX_REPORTED_ISSUES,
  OutboxLockedError,
  StorageError,
} from "./errors/error-classes.js";
export type { OptionKeys } from "./errors/option-keys.js";
export { checkOptionKeys } from "./errors/option-keys.js";
export type { CorrelationField, EmitEventInput, Event } from "./event/event.js";
export {
  CORRELATION_FIELDS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  EVENT_FIELDS,
  eventSchema,
  MAX_ID_LENGTH,
} from "./event/event.js";
export type { EventTypeFilter, EventTypeGroup, EventTypePattern, TypesMatching } from "./event/event-type.js";
export {
  AUDIT_EVENT_TYPES,
  EVENT_TYPE_PATTERNS,
  EVENT_TYPES,
  EventType,
  isEventType,
  typesMatching,
} from "./event/event-type.js";
export type { JsonObject, JsonValue } from "./event/json-value.js";
export type {
  EmitInputOf,
  EventOf,
  EventsMatching,
  Frozen,
  NoPayloadSchemas,
  PayloadInputOf,
  PayloadOf,
  PayloadSchema,
  PayloadSchemaOf,
  PayloadSchemas,
  TypedEvent,
  TypedEventTypes,
} from "./event/payload-schemas.js";
export type { EventQuery } from "./event/query.js";
export { DEFAULT_LIMIT, MAX_LIMIT, matchesQuery, normalizeEventQuery, unknownCursorError } from "./event/query.js";
export { normalizeTimestamp } from "./event/timestamp.js";
export type { TailOptions, TailQuery } from "./live/tail-query.js";
export { parseStoredEvent, wireJson } from "./storage/kit/stored-event.js";
export type { MemoryStorageOptions } from "./storage/memory/memory-storage.js";
export { memoryStorage } from "./storage/memory/memory-storage.js";
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
} from "./storage/types.js";
