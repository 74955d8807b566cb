export type { ValidationIssue } from "./errors.js";
export {
  capIssues,
  EventBusError,
  EventConflictError,
  EventValidationError,
  MAX_REPORTED_ISSUES,
  OutboxLockedError,
  StorageError,
} from "./errors.js";
export type { CorrelationField, EmitEventInput, Event } from "./event.js";
export { CORRELATION_FIELDS, DEFAULT_MAX_PAYLOAD_BYTES, EVENT_FIELDS, eventSchema, MAX_ID_LENGTH } from "./event.js";
export type { EventBusOptions, EventPage } from "./event-bus.js";
export { EventBus } from "./event-bus.js";
export type { BoundContext, ScopeContext } from "./event-scope.js";
export { EventScope } from "./event-scope.js";
export type { EventTypeFilter, EventTypeGroup, EventTypePattern, TypesMatching } from "./event-type.js";
export {
  AUDIT_EVENT_TYPES,
  EVENT_TYPE_PATTERNS,
  EVENT_TYPES,
  EventType,
  isEventType,
  typesMatching,
} from "./event-type.js";
export type { JsonObject, JsonValue } from "./json.js";
export type { TailOptions, TailQuery } from "./live/tail-query.js";
export type { OptionKeys } from "./option-keys.js";
export { checkOptionKeys } from "./option-keys.js";
export type { EventOutbox, OutboxSink, OutboxStatus, ReplayOutcome } from "./outbox-contract.js";
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
} from "./payloads.js";
export type { EventQuery } from "./query.js";
export { DEFAULT_LIMIT, MAX_LIMIT, matchesQuery, normalizeEventQuery, unknownCursorError } from "./query.js";
export type { MemoryStorageOptions } from "./storage/memory/memory-storage.js";
export { memoryStorage } from "./storage/memory/memory-storage.js";
export type { AppendOutcome, EventStorage, NormalizedEventQuery, StorageWatch } from "./storage/types.js";
export { parseStoredEvent } from "./stored-event.js";
export type { EventListener, SubscribeOptions } from "./subscriptions.js";
export { normalizeTimestamp } from "./timestamp.js";
