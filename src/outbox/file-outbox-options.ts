import { resolve } from "node:path";
import { EventValidationError } from "../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../errors/option-keys.js";
import { AUDIT_EVENT_TYPES, type EventType, isEventType } from "../event/event-type.js";
import { showValue } from "../event/json-value.js";

/**
 * Options of {@link fileOutbox}.
 *
 * @example
 * ```ts
 * const options: FileOutboxOptions = { path: "data/event-outbox.jsonl", types: "all", retry: { maxDelayMs: 10_000 } };
 * ```
 */
export interface FileOutboxOptions {
  /** The outbox file (JSON Lines). Its folder is created if missing; `<path>.lock` and `<path>.rejected` sit beside it. */
  readonly path: string;
  /** Event types that go to the outbox when the store fails. Default: `AUDIT_EVENT_TYPES`; `"all"` for every type. */
  readonly types?: readonly EventType[] | "all" | undefined;
  /** fdatasync after every write (group commit: concurrent writes share one). Default: `true`. */
  readonly fsync?: boolean | undefined;
  /** Backoff between replay attempts while the store is down: doubles from `initialDelayMs` up to `maxDelayMs`. */
  readonly retry?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number } | undefined;
  /** Most events per replayed `append` call. Default: 256. */
  readonly replayBatchSize?: number | undefined;
  /**
   * Receives torn and rejected lines, conflicts, and failed replay attempts. Default: the `onError` of the bus the
   * outbox is given to, as `{ source: "outbox", error }`.
   */
  readonly onError?: ((error: Error) => void) | undefined;
}

/** Options with defaults applied, checked. */
export interface Settings {
  readonly path: string;
  readonly types: readonly EventType[] | "all";
  readonly fsync: boolean;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly replayBatchSize: number;
  readonly onError: ((error: Error) => void) | undefined;
}

const FILE_OUTBOX_OPTION_KEYS: OptionKeys<FileOutboxOptions> = {
  path: true,
  types: true,
  fsync: true,
  retry: true,
  replayBatchSize: true,
  onError: true,
};

const RETRY_OPTION_KEYS: OptionKeys<NonNullable<FileOutboxOptions["retry"]>> = {
  initialDelayMs: true,
  maxDelayMs: true,
};

/** Checks the options and applies the defaults; throws `EventValidationError` naming the bad option. */
export function checkOptions(given: FileOutboxOptions): Settings {
  const options = readOptions(given, FILE_OUTBOX_OPTION_KEYS, "fileOutbox");
  if (typeof options.path !== "string" || options.path === "") {
    throw EventValidationError.forField("path", "must be the outbox file's path, e.g. data/event-outbox.jsonl");
  }
  const types = options.types ?? AUDIT_EVENT_TYPES;
  // An empty list would spool nothing: the outbox would be configured and never used.
  if (types !== "all" && !(Array.isArray(types) && types.length > 0 && types.every(isEventType))) {
    throw EventValidationError.forField(
      "types",
      `must be "all" or a non-empty array of event types, got ${showValue(types)}`,
    );
  }
  if (options.fsync !== undefined && typeof options.fsync !== "boolean") {
    throw EventValidationError.forField("fsync", `must be true or false, got ${showValue(options.fsync)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw EventValidationError.forField("onError", `must be a function, got ${showValue(options.onError)}`);
  }
  const retry = options.retry === undefined ? {} : readOptions(options.retry, RETRY_OPTION_KEYS, "fileOutbox retry");
  const initialDelayMs = retry.initialDelayMs ?? 250;
  const maxDelayMs = retry.maxDelayMs ?? 30_000;
  const replayBatchSize = options.replayBatchSize ?? 256;
  for (const [name, value] of [
    ["retry.initialDelayMs", initialDelayMs],
    ["retry.maxDelayMs", maxDelayMs],
    ["replayBatchSize", replayBatchSize],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1)) {
      throw EventValidationError.forField(name, `must be a positive integer, got ${showValue(value)}`);
    }
  }
  return {
    path: resolve(options.path),
    types: types === "all" ? "all" : Object.freeze([...types]),
    fsync: options.fsync ?? true,
    initialDelayMs,
    maxDelayMs: Math.max(maxDelayMs, initialDelayMs),
    replayBatchSize,
    onError: options.onError,
  };
}
