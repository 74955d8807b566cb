import { closeSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname } from "node:path";
import { reporterOf } from "../bus/bus-errors.js";
import type { EventOutbox, OutboxSink, OutboxStatus } from "../bus/write/outbox-contract.js";
import { EventBusError, OutboxLockedError, type StorageError } from "../errors/error-classes.js";
import type { Event } from "../event/event.js";
import type { EventType } from "../event/event-type.js";
import { closedError } from "../storage/kit/store-errors.js";
import { checkOptions, type FileOutboxOptions, type Settings } from "./file-outbox-options.js";
import { OutboxFile } from "./outbox-file.js";
import { MAX_LINE_BYTES } from "./outbox-lines.js";
import { acquireLock, type OutboxLock } from "./outbox-lock.js";
import { countLine, keepRejected, type RejectedLine, replayFile } from "./outbox-replay.js";

/**
 * A durable, fail-closed outbox in a local JSON Lines file, for `new EventBus({ outbox })`. When the store fails,
 * events of `types` are appended to the file (fsynced) and the emit resolves; the bus replays them into the store in
 * file order, in the background with capped exponential backoff and at start-up, and removes lines only after the
 * store confirmed them. Takes the lock `<path>.lock` at once: throws `OutboxLockedError` when another live process
 * owns the file.
 *
 * @example
 * ```ts
 * const bus = new EventBus({ storage, outbox: fileOutbox({ path: "data/event-outbox.jsonl" }) });
 * ```
 */
export function fileOutbox(options: FileOutboxOptions): EventOutbox {
  return new FileOutbox(checkOptions(options));
}

class FileOutbox implements EventOutbox {
  readonly types: readonly EventType[] | "all";
  readonly location: string;
  private readonly settings: Settings;
  private readonly lock: OutboxLock;
  private readonly file: OutboxFile;
  private readonly opened: Promise<void>;
  /** Bytes of whole lines when the file was opened: what a previous process left. */
  private leftBytes = 0;
  private sink: OutboxSink | undefined;
  private scanned: Promise<void> | undefined;
  private pending = 0;
  /** Events of the first left-over line, counted before the scan (which counts that line again). */
  private peeked = 0;
  private head: string | null = null;
  private lastError: string | null = null;
  private confirmedBytes = 0;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(settings: Settings) {
    this.settings = settings;
    this.types = settings.types;
    this.location = settings.path;
    try {
      mkdirSync(dirname(settings.path), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new EventBusError(`cannot create the folder of the outbox ${settings.path}: ${describe(error)}`, {
        cause: error,
      });
    }
    try {
      this.lock = acquireLock(`${settings.path}.lock`);
    } catch (error) {
      if (error instanceof EventBusError) throw error;
      throw new EventBusError(`cannot take the lock of the outbox ${settings.path}: ${describe(error)}`, {
        cause: error,
      });
    }
    // What a previous process left is counted in the background; its first line is read now, so that `status()` says
    // something is pending from the very first call (the count grows to the exact one once the scan is done).
    const first = readFirstLine(settings.path);
    if (first !== undefined) {
      this.peeked = countLine(first);
      this.pending = this.peeked;
      this.head = headTimestamp(first);
    }
    // Ownership is checked once per write of a group of lines, not per event.
    this.file = new OutboxFile(settings.path, settings.fsync, () => this.checkOwnership());
    this.opened = this.file.open().then((torn) => {
      this.leftBytes = this.file.byteSize;
      if (torn === undefined) return;
      const reason = `a torn last line at byte ${torn.offset} (a write cut short, never acknowledged) was skipped`;
      return this.reject([{ line: 0, reason, text: torn.text }]);
    });
    this.opened.catch((error: unknown) => this.fail(error));
  }

  attach(sink: OutboxSink): void {
    if (this.sink !== undefined) throw new EventBusError(`the outbox ${this.location} already belongs to a bus`);
    this.sink = sink;
    this.scanned = this.opened.then(() => this.scan());
    this.scanned.then(
      () => this.start(0),
      (error: unknown) => this.fail(error),
    );
  }

  async write(events: readonly Event[], failure: StorageError): Promise<void> {
    if (this.closed) throw closedError(`the outbox ${this.location}`);
    await this.opened;
    const text = events.length === 1 ? JSON.stringify(events[0]) : JSON.stringify(events);
    if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
      throw new EventBusError(
        `a batch of ${events.length} events is over the outbox's ${MAX_LINE_BYTES}-byte line cap`,
      );
    }
    try {
      await this.file.append(`${text}\n`);
    } catch (error) {
      this.fail(error);
      throw error;
    }
    if (this.pending === 0) this.head = events[0]?.timestamp ?? null;
    this.pending += events.length;
    this.lastError = failure.message;
    this.start(this.settings.initialDelayMs);
  }

  status(): OutboxStatus {
    return { pending: this.pending, oldest_timestamp: this.pending > 0 ? this.head : null, last_error: this.lastError };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeUp?.();
    try {
      await this.loop;
      await this.scanned?.catch(() => undefined);
      if (this.confirmedBytes > 0) await this.file.compact(this.confirmedBytes);
      await this.file.close();
    } finally {
      this.lock.release();
    }
  }

  /** Counts what a previous process left; streamed, one line at a time. */
  private async scan(): Promise<void> {
    this.pending -= this.peeked;
    this.peeked = 0;
    const lines = this.file.lines(0, this.leftBytes);
    if (lines === undefined) return;
    for await (const line of lines) {
      const count = line.oversized ? 1 : countLine(line.text);
      if (count > 0 && this.pending === 0) this.head = headTimestamp(line.text);
      this.pending += count;
    }
  }

  /** Starts the replay loop unless it runs; the first attempt after `delayMs`. */
  private start(delayMs: number): void {
    if (this.loop !== undefined || this.closed || this.sink === undefined || this.pending === 0) return;
    this.loop = this.replayLoop(this.sink, delayMs).finally(() => {
      this.loop = undefined;
      if (!this.closed && this.pending > 0) this.start(this.settings.initialDelayMs);
    });
  }

  private async replayLoop(sink: OutboxSink, firstDelayMs: number): Promise<void> {
    await this.scanned;
    let delayMs = firstDelayMs;
    while (!this.closed && this.pending > 0) {
      if (delayMs > 0) await this.sleep(delayMs);
      if (this.closed) return;
      try {
        const before = this.pending;
        await this.replayOnce(sink);
        delayMs = 0;
        this.lastError = null;
        // Nothing left that this pass could settle (new lines start the loop again): never spin.
        if (this.pending >= before) return;
      } catch (error) {
        this.fail(error);
        delayMs = Math.min(Math.max(delayMs * 2, this.settings.initialDelayMs), this.settings.maxDelayMs);
      }
    }
  }

  private async replayOnce(sink: OutboxSink): Promise<void> {
    this.checkOwnership();
    try {
      await replayFile({
        file: this.file,
        start: this.confirmedBytes,
        sink,
        groupSize: this.settings.replayBatchSize,
        stopped: () => this.closed,
        reachedHead: (event) => {
          this.head = event.timestamp;
        },
        settled: (count, confirmedBytes) => {
          this.pending -= count;
          this.lastError = null; // the store answers again
          this.confirmedBytes = confirmedBytes;
        },
        reject: (lines) => this.reject(lines),
      });
    } finally {
      // Compact at the end of a pass, or once half the file is confirmed: each byte is rewritten O(1) times.
      const halfDone = this.confirmedBytes * 2 >= this.file.byteSize;
      if (!this.closed && this.confirmedBytes > 0 && (halfDone || this.pending === 0)) {
        await this.file.compact(this.confirmedBytes);
        this.confirmedBytes = 0;
      }
    }
  }

  /**
   * Throws once the lock file no longer names this outbox (deleted by hand, or replaced by a process that judged it
   * stale): writing or replaying then could interleave with the new owner.
   */
  private checkOwnership(): void {
    if (this.lock.held()) return;
    throw new OutboxLockedError(
      this.lock.path,
      `the outbox ${this.location} lost its lock ${this.lock.path} (deleted or taken over): it stops writing and ` +
        "replaying; restart the process once you know which process owns the file",
    );
  }

  private async reject(lines: readonly RejectedLine[]): Promise<void> {
    await keepRejected(`${this.location}.rejected`, lines, this.settings.fsync);
    for (const line of lines) {
      this.report(new EventBusError(`outbox ${this.location}: ${line.reason}; kept in ${this.location}.rejected`));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private fail(error: unknown): void {
    this.lastError = describe(error);
    this.report(error instanceof Error ? error : new Error(this.lastError));
  }

  /** To the outbox's `onError`, else to that of the bus it was given to (it knows the sink the bus attached). */
  private report(error: Error): void {
    reporterOf(this.sink ?? this).route("outbox", this.settings.onError, (failure: Error) => ({ error: failure }))(
      error,
    );
  }
}

/** The file's first complete line when it lies within the first 64 KiB; `undefined` for none (or a torn one). */
function readFirstLine(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined; // no file yet
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, read).indexOf(10);
    return end < 0 ? undefined : buffer.subarray(0, end).toString("utf8");
  } catch {
    return undefined; // not a readable file (a folder in its place): opening it for append reports why
  } finally {
    closeSync(fd);
  }
}

function headTimestamp(text: string): string | null {
  try {
    const value = JSON.parse(text) as unknown;
    const first = (Array.isArray(value) ? value[0] : value) as { timestamp?: unknown } | null;
    return typeof first?.timestamp === "string" ? first.timestamp : null;
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
