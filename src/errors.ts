import type { z } from "zod";

const PREFIX = "[ad-seller-events]";

/**
 * One problem found in a caller's input: where it is and what is wrong with it.
 *
 * @example
 * ```ts
 * error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
 * ```
 */
export interface ValidationIssue {
  /** Path of the bad value, e.g. `["payload", "price"]` or `["limit"]`. */
  readonly path: readonly (string | number)[];
  /** What is wrong and, where there is a fixed set, the allowed values. */
  readonly message: string;
}

/**
 * Base class of every error the library throws on purpose, so callers can catch them all with one `instanceof`.
 *
 * @example
 * ```ts
 * try {
 *   await bus.emitEvent(input);
 * } catch (error) {
 *   if (error instanceof EventBusError) log.warn(error.message);
 *   else throw error;
 * }
 * ```
 */
export class EventBusError extends Error {
  override name = "EventBusError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message.startsWith(PREFIX) ? message : `${PREFIX} ${message}`, options);
  }
}

/**
 * Input was rejected before anything was stored. `issues` lists every bad field; the message names each one by path.
 *
 * @example
 * ```ts
 * try {
 *   await bus.listEvents({ limit: 0 });
 * } catch (error) {
 *   if (error instanceof EventValidationError) console.log(error.issues[0]?.path); // ["limit"]
 * }
 * ```
 */
export class EventValidationError extends EventBusError {
  override name = "EventValidationError";
  /** Every problem found, in the order found. */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    super(formatIssues(issues), options);
    this.issues = Object.freeze(
      issues.map((issue) => Object.freeze({ ...issue, path: Object.freeze([...issue.path]) })),
    );
  }

  /** Builds the error from a failed zod parse, keeping zod's issues as `cause`. */
  static fromZod(error: z.ZodError, pathPrefix: readonly (string | number)[] = []): EventValidationError {
    const issues = error.issues.flatMap((issue) => {
      const path = [...pathPrefix, ...issue.path.map((key) => (typeof key === "symbol" ? String(key) : key))];
      // One issue per unknown key, so that each misspelt field is named by its own path.
      if (issue.code === "unrecognized_keys")
        return issue.keys.map((key) => ({ path: [...path, key], message: issue.message }));
      return [{ path, message: issue.message }];
    });
    return new EventValidationError(issues, { cause: error });
  }

  /** The error for a single bad field. */
  static forField(path: string | readonly (string | number)[], message: string): EventValidationError {
    return new EventValidationError([{ path: typeof path === "string" ? [path] : path, message }]);
  }
}

/**
 * An event id was emitted again with different content. Events are immutable: the stored one is kept.
 *
 * @example
 * ```ts
 * await bus.emitEvent({ event_id: id, event_type: "deal.created", deal_id: "d-1" });
 * await bus.emitEvent({ event_id: id, event_type: "deal.created", deal_id: "d-2" }); // rejects: EventConflictError
 * ```
 */
export class EventConflictError extends EventBusError {
  override name = "EventConflictError";
  /** The id that is already taken. */
  readonly eventId: string;
  /** Names of the fields whose stored value differs from the new one. */
  readonly differingFields: readonly string[];

  constructor(eventId: string, differingFields: readonly string[]) {
    super(
      `event ${eventId} is already stored with different ${differingFields.join(", ")}; ` +
        "events are immutable, so emit a new event_id instead of changing this one",
    );
    this.eventId = eventId;
    this.differingFields = Object.freeze([...differingFields]);
  }
}

/**
 * The storage backend failed (unreachable, dropped connection, disk full...). The driver's error is the `cause`.
 * Nothing of the failed call is visible in the store.
 *
 * @example
 * ```ts
 * try {
 *   await bus.emitEvent(input);
 * } catch (error) {
 *   if (error instanceof StorageError) retryLater(input, error.storage); // e.g. "postgres"
 * }
 * ```
 */
export class StorageError extends EventBusError {
  override name = "StorageError";
  /** Which store failed, e.g. `"postgres"` or `"redis"`. */
  readonly storage: string;
  /** The operation that failed: `"append"`, `"get"`, `"list"`, `"setup"` or `"close"`. */
  readonly operation: string;

  constructor(storage: string, operation: string, cause: unknown) {
    super(`${storage} storage failed during ${operation}: ${describeCause(cause)}`, { cause });
    this.storage = storage;
    this.operation = operation;
  }
}

/**
 * A cursor (`after` or `before`) named an event that retention (`storage.prune`) has deleted: the events between
 * it and the oldest one kept are gone, so paging on would silently jump over them. Restart from `oldest` (the
 * oldest retained position: its `event_id` and `timestamp`, or `null` when nothing is stored), or from the start.
 * Over HTTP it is a `410 Gone` that carries `oldest`.
 *
 * @example
 * ```ts
 * try {
 *   await bus.listEvents({ after: lastSeenId });
 * } catch (error) {
 *   if (error instanceof EventGapError) console.warn(`resume from ${error.oldest?.event_id ?? "the start"}`);
 * }
 * ```
 */
export class EventGapError extends EventBusError {
  override name = "EventGapError";
  /** Stable code for callers that match on strings. */
  readonly code = "ERR_EVENT_GAP";
  /** Which cursor named the pruned event. */
  readonly cursor: "after" | "before";
  /** The pruned event the cursor named. */
  readonly eventId: string;
  /** The oldest event still stored (in append order), or `null` when the store is empty. */
  readonly oldest: RetainedPosition | null;

  constructor(cursor: "after" | "before", eventId: string, oldest: RetainedPosition | null) {
    super(
      `${cursor} names event ${eventId}, which retention has deleted; ` +
        (oldest === null
          ? "no event is stored now, so start again without a cursor"
          : `the oldest event kept is ${oldest.event_id} (${oldest.timestamp}): resume from there or from the start`),
    );
    this.cursor = cursor;
    this.eventId = eventId;
    this.oldest = oldest === null ? null : Object.freeze({ event_id: oldest.event_id, timestamp: oldest.timestamp });
  }
}

/**
 * A stored position: the event's id and timestamp (what `EventGapError.oldest` reports).
 *
 * @example
 * ```ts
 * const oldest: RetainedPosition = { event_id: "0b9c6a53-8a2f-4f5e-9a51-2f4f3f2d1c10", timestamp: "2026-11-24T10:15:30.123Z" };
 * ```
 */
export interface RetainedPosition {
  readonly event_id: string;
  readonly timestamp: string;
}

/**
 * One issue reads as a sentence ("limit must be ..."); several are listed in the layout of zod's `prettifyError`,
 * with one path per unknown key where zod would group them.
 */
function formatIssues(issues: readonly ValidationIssue[]): string {
  const [only] = issues;
  if (issues.length === 1 && only !== undefined) {
    return only.path.length === 0 ? only.message : `${formatPath(only.path)} ${only.message}`;
  }
  const lines = issues.map((issue) => `✖ ${issue.message}\n  → at ${formatPath(issue.path)}`);
  return `invalid input:\n${lines.join("\n")}`;
}

function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(input)";
  return path.map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? key : `.${key}`)).join("");
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const message = cause.message || cause.name;
    const text = typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
    return redactCredentials(text);
  }
  return redactCredentials(String(cause));
}

/** Driver messages may echo a connection string; never let a password reach a log through us. */
function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
}
