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
 * An outbox file is owned by another live process (or by another outbox in this one): one file has one owner at a
 * time, so that lines never interleave. `code` is `"ERR_OUTBOX_LOCKED"`.
 *
 * @example
 * ```ts
 * try {
 *   fileOutbox({ path: "data/event-outbox.jsonl" });
 * } catch (error) {
 *   if (error instanceof OutboxLockedError) console.error(`another process owns ${error.path}`);
 * }
 * ```
 */
export class OutboxLockedError extends EventBusError {
  override name = "OutboxLockedError";
  /** Stable identifier of this failure. */
  readonly code = "ERR_OUTBOX_LOCKED";
  /** The lock file that names the other owner. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
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
