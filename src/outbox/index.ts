/**
 * The fail-closed audit outbox: events the store refused wait in a local file and are replayed in order.
 *
 * @module ad-seller-events/outbox
 */
export type { EventOutbox, OutboxSink, OutboxStatus, ReplayOutcome } from "../bus/write/outbox-contract.js";
export { OutboxLockedError } from "../errors/error-classes.js";
export type { AuditImportResult } from "./audit-fallback.js";
export { importAuditFallback } from "./audit-fallback.js";
export { fileOutbox } from "./file-outbox.js";
export type { FileOutboxOptions } from "./file-outbox-options.js";
