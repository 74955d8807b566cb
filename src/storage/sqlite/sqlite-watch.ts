import { AppendNotifier } from "../kit/append-notifier.js";
import type { StorageWatch } from "../types.js";
import type { SqliteDatabase, SqliteStatement } from "./sqlite-driver.js";

/**
 * How often a watched SQLite store checks `PRAGMA data_version` for commits by other connections, in
 * milliseconds. One check is a few microseconds.
 *
 * @example
 * ```ts
 * sqliteStorage({ database, watchIntervalMs: DEFAULT_SQLITE_WATCH_INTERVAL_MS * 2 });
 * ```
 */
export const DEFAULT_SQLITE_WATCH_INTERVAL_MS = 20;

/**
 * The `watch` of a SQLite store. Appends through this storage wake watchers at once (in-process); appends by other
 * connections, in this process or others, are seen through `PRAGMA data_version` on the storage's own connection,
 * which changes whenever another connection has committed since the last check. One timer per storage, running
 * only while someone watches.
 */
export class SqliteWatch {
  private readonly notifier = new AppendNotifier();
  private timer: ReturnType<typeof setInterval> | undefined;
  private statement: SqliteStatement | undefined;
  private lastVersion: unknown;

  constructor(
    private readonly database: SqliteDatabase,
    private readonly intervalMs: number,
    /** False once the storage is closed: the connection may be gone. */
    private readonly usable: () => boolean,
  ) {}

  /** An append through this storage committed. */
  appended(): void {
    this.notifier.notify();
  }

  watch(onAppend: () => void): StorageWatch {
    const stop = this.notifier.watch(onAppend);
    if (this.timer === undefined) {
      this.lastVersion = this.readVersion();
      this.timer = setInterval(() => this.check(), this.intervalMs);
    }
    return async () => {
      await stop();
      if (this.notifier.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.statement = undefined;
  }

  private check(): void {
    if (!this.usable()) {
      this.stop();
      return;
    }
    const version = this.readVersion();
    if (version !== undefined && version !== this.lastVersion) {
      this.lastVersion = version;
      this.notifier.notify();
    }
  }

  private readVersion(): unknown {
    try {
      this.statement ??= this.database.prepare("PRAGMA data_version");
      const row = this.statement.get() as Record<string, unknown> | undefined;
      return row === undefined ? undefined : Object.values(row)[0];
    } catch {
      // A busy or closed connection: the next check (or the reader's safety poll) catches up.
      this.statement = undefined;
      return undefined;
    }
  }
}
