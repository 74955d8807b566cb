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

/** Where an error's codes live on the instance: `Symbol.for` is shared by the ESM and CJS copies of the package. */
const CODES = Symbol.for("ad-seller-events.error-codes");

/**
 * Most issues one error lists; the rest are counted in one closing issue, so an error (and the HTTP `400` built from
 * it) stays a few KB however many values were bad.
 */
export const MAX_REPORTED_ISSUES = 20;

/**
 * Base class of every error the library throws on purpose, so callers can catch them all with one `instanceof`,
 * or with `EventBusError.is(error)` across the ESM and CJS copies of the package. Every class has a stable `code`.
 *
 * @example
 * ```ts
 * try {
 *   await bus.emitEvent(input);
 * } catch (error) {
 *   if (EventBusError.is(error)) log.warn({ code: error.code }, error.message);
 *   else throw error;
 * }
 * ```
 */
export class EventBusError extends Error {
  /** The code every instance of this class carries. */
  static readonly code: string = "ERR_EVENT_BUS";
  override name = "EventBusError";
  /** Stable across versions and identical in the ESM and CJS builds, e.g. `"ERR_EVENT_VALIDATION"`. */
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message.startsWith(PREFIX) ? message : `${PREFIX} ${message}`, options);
    this.code = new.target.code;
    Object.defineProperty(this, CODES, { value: codesOf(new.target) });
  }

  /**
   * True when `value` is an error of this class (or a subclass) from any copy of the package: it compares codes,
   * not prototypes, so an error thrown by the CJS build is recognised by the ESM build and back.
   *
   * @example
   * ```ts
   * if (EventValidationError.is(error)) console.log(error.issues);
   * ```
   */
  static is<Class extends abstract new (...args: never[]) => EventBusError>(
    this: Class & { readonly code: string },
    value: unknown,
  ): value is InstanceType<Class> {
    if (typeof value !== "object" || value === null) return false;
    const codes = (value as { [CODES]?: unknown })[CODES];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class the guard was called on, subclasses included.
    return Array.isArray(codes) && codes.includes(this.code);
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
  static override readonly code = "ERR_EVENT_VALIDATION";
  override name = "EventValidationError";
  declare readonly code: "ERR_EVENT_VALIDATION";
  /** Every problem found, in the order found. */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    const reported = capIssues(issues);
    super(formatIssues(reported), options);
    this.issues = Object.freeze(
      reported.map((issue) => Object.freeze({ path: Object.freeze([...issue.path]), message: issue.message })),
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
  static override readonly code = "ERR_EVENT_CONFLICT";
  override name = "EventConflictError";
  declare readonly code: "ERR_EVENT_CONFLICT";
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
 * A call on a bus, store or outbox after its `close()`: every adapter refuses it the same way, never with an empty
 * answer. Caught as an `EventBusError` with `code` `"ERR_CLOSED"` (the class itself is not exported).
 */
export class ClosedError extends EventBusError {
  static override readonly code = "ERR_CLOSED";
  declare readonly code: "ERR_CLOSED";
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
  static override readonly code = "ERR_STORAGE";
  override name = "StorageError";
  declare readonly code: "ERR_STORAGE";
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
  static override readonly code = "ERR_OUTBOX_LOCKED";
  override name = "OutboxLockedError";
  declare readonly code: "ERR_OUTBOX_LOCKED";
  /** The lock file that names the other owner. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
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
  static override readonly code = "ERR_EVENT_GAP";
  override name = "EventGapError";
  declare readonly code: "ERR_EVENT_GAP";
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

/** The first `MAX_REPORTED_ISSUES` issues, plus one that counts the others. */
export function capIssues(issues: readonly ValidationIssue[]): readonly ValidationIssue[] {
  if (issues.length <= MAX_REPORTED_ISSUES + 1) return issues;
  const more = issues.length - MAX_REPORTED_ISSUES;
  return [
    ...issues.slice(0, MAX_REPORTED_ISSUES),
    { path: [], message: `and ${more} more problems (only the first ${MAX_REPORTED_ISSUES} are listed)` },
  ];
}

/** The codes of a class and its ancestors, read off their static `code`s. */
function codesOf(errorClass: { readonly code?: string }): readonly string[] {
  const codes: string[] = [];
  for (let current: unknown = errorClass; typeof current === "function"; current = Object.getPrototypeOf(current)) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && !codes.includes(code)) codes.push(code);
  }
  return Object.freeze(codes);
}

/**
 * One issue reads as a sentence with a colon after the field ("limit: must be ..."); several are listed one per
 * line, each with its own path (one path per unknown key where zod would group them).
 */
function formatIssues(issues: readonly ValidationIssue[]): string {
  const [only] = issues;
  if (issues.length === 1 && only !== undefined) {
    return only.path.length === 0 ? only.message : `${formatPath(only.path)}: ${only.message}`;
  }
  const lines = issues.map((issue) =>
    issue.path.length === 0 ? `✖ ${issue.message}` : `✖ ${formatPath(issue.path)}: ${issue.message}`,
  );
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
