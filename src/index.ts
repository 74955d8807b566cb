/**
 * The entry an application imports: the bus, the event model, the errors and the in-memory store. Adapter authors
 * import from `ad-seller-events/storage`.
 *
 * @module ad-seller-events
 */
// tests/exports.test.ts lists every name, so that a new one is a decision.
export type { BusErrorReport } from "./bus/bus-errors.js";
export type { EventBusOptions } from "./bus/event-bus.js";
export { EventBus } from "./bus/event-bus.js";
export type { ScopeContext } from "./bus/event-scope.js";
export { EventScope } from "./bus/event-scope.js";
export type { EventJsonPage, EventPage } from "./bus/read/event-page.js";
export type { EventListener, SubscribeOptions } from "./bus/subscriptions.js";
export type { EmitOptions } from "./bus/write/emit-transaction.js";
export { Consumer } from "./consumers/consumer.js";
export type {
  ConsumeOptions,
  ConsumerHandler,
  ConsumerHandlerContext,
  ConsumerRetryOptions,
} from "./consumers/consumer-options.js";
export type { ConsumerGap, ConsumerStatus } from "./consumers/consumer-status.js";
export type { RetainedPosition, ValidationIssue } from "./errors/error-classes.js";
export {
  EventBusError,
  EventConflictError,
  EventGapError,
  EventValidationError,
  OutboxLockedError,
  StorageError,
} from "./errors/error-classes.js";
export type { EmitEventInput, Event } from "./event/event.js";
export { eventSchema } from "./event/event.js";
export type { EventTypeFilter, EventTypePattern } from "./event/event-type.js";
export { AUDIT_EVENT_TYPES, EVENT_TYPES, EventType, isEventType } from "./event/event-type.js";
export type { JsonObject, JsonValue } from "./event/json-value.js";
export type { EmitInputOf, EventOf, EventsMatching, PayloadOf, PayloadSchemas } from "./event/payload-schemas.js";
export type { EventQuery } from "./event/query.js";
export { MAX_LIMIT } from "./event/query.js";
export type { TailOptions, TailQuery } from "./live/tail-query.js";
export type { MemoryStorageOptions } from "./storage/memory/memory-storage.js";
export { memoryStorage } from "./storage/memory/memory-storage.js";
export type { EventStorage } from "./storage/types.js";
