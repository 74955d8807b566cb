import { open } from "node:fs/promises";
import type { EventBus } from "../bus/event-bus.js";
import { EventBusError, EventConflictError, EventValidationError } from "../errors/error-classes.js";
import type { EmitEventInput } from "../event/event.js";
import { excerpt, type FileLine, readLines } from "./outbox-lines.js";
import { AUDIT_FALLBACK_NAMESPACE, canonicalJson, uuidV5 } from "./uuid-v5.js";

/**
 * What `importAuditFallback` did: events newly stored, records already stored (an earlier import, or the event
 * reached the store after all), and the lines it could not import, by 1-based line number, with the reason.
 *
 * @example
 * ```ts
 * const { imported, duplicates, rejected } = await importAuditFallback(bus, "data/audit_fallback.jsonl");
 * for (const { line, reason } of rejected) console.warn(`line ${line}: ${reason}`);
 * ```
 */
export interface AuditImportResult {
  readonly imported: number;
  readonly duplicates: number;
  readonly rejected: readonly { readonly line: number; readonly reason: string }[];
}

/**
 * Imports the Python seller agent's `audit_fallback.jsonl` through `bus.emitEvent`, streamed line by line.
 *
 * - A pydantic dump keeps its `event_id` and its naive UTC `timestamp` (read as UTC, cut to milliseconds).
 * - `emit_error` (why the Python bus failed) is kept as `metadata.emit_error`.
 * - A record rebuilt from the emit arguments (no `event_id`) gets `uuidV5(AUDIT_FALLBACK_NAMESPACE,
 *   canonicalJson(record))`, so the same record always gets the same id; without a `timestamp` the bus stamps the
 *   import time, and a second import of it is an idempotent retry (no timestamp given, so none compared).
 * - Blank lines are skipped; lines that are not JSON, JSON that is not an event, and a torn last line are reported
 *   in `rejected`, never fatal. A store failure (`StorageError`) stops the import: run it again, nothing is stored
 *   twice.
 *
 * @example
 * ```ts
 * const result = await importAuditFallback(bus, "data/audit_fallback.jsonl");
 * console.log(`${result.imported} imported, ${result.duplicates} already stored`);
 * ```
 */
export async function importAuditFallback(bus: EventBus, path: string): Promise<AuditImportResult> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new EventBusError(`cannot read the audit fallback file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let imported = 0;
  let duplicates = 0;
  const rejected: { line: number; reason: string }[] = [];
  try {
    for await (const line of readLines(handle)) {
      if (line.text.trim() === "") continue;
      const input = toEmitInput(line);
      if (typeof input === "string") {
        rejected.push({ line: line.number, reason: input });
        continue;
      }
      const outcome = await importOne(bus, input);
      if (outcome === "imported") imported += 1;
      else if (outcome === "duplicate") duplicates += 1;
      else rejected.push({ line: line.number, reason: outcome.reason });
    }
  } finally {
    await handle.close();
  }
  return { imported, duplicates, rejected };
}

type ImportOutcome = "imported" | "duplicate" | { readonly reason: string };

async function importOne(bus: EventBus, input: EmitEventInput & { event_id: string }): Promise<ImportOutcome> {
  try {
    const existing = await bus.getEvent(input.event_id);
    await bus.emitEvent(input);
    return existing === null ? "imported" : "duplicate";
  } catch (error) {
    if (error instanceof EventValidationError || error instanceof EventConflictError) return { reason: error.message };
    throw error;
  }
}

/** The emit input a fallback record stands for, or why the line is not one. */
function toEmitInput(line: FileLine): (EmitEventInput & { event_id: string }) | string {
  let record: unknown;
  try {
    record = JSON.parse(line.text);
  } catch (error) {
    if (!line.complete) return `torn last line (no newline: the writer died mid-write): ${excerpt(line.text, 80)}`;
    return `not JSON (${(error as Error).message}): ${excerpt(line.text, 80)}`;
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return `JSON but not an event record (a ${Array.isArray(record) ? "list" : record === null ? "null" : typeof record})`;
  }
  const { emit_error, ...fields } = record as Record<string, unknown>;
  if (emit_error !== undefined) {
    const metadata = fields.metadata ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      return "metadata must be a JSON object";
    }
    fields.metadata = { ...metadata, emit_error };
  }
  const eventId = typeof fields.event_id === "string" ? fields.event_id : undefined;
  if (fields.event_id !== undefined && eventId === undefined) return "event_id must be a UUID string";
  return {
    ...(fields as unknown as EmitEventInput),
    event_id: eventId ?? uuidV5(AUDIT_FALLBACK_NAMESPACE, canonicalJson(record)),
  };
}
