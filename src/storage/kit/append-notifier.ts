import type { StorageWatch } from "../types.js";

/**
 * In-process wake-ups: `notify()` after an append calls every watcher once, on a microtask, however many appends
 * happened in the same tick. Shared by adapters whose own appends are the only ones this process can learn of
 * directly (memory, and the in-process half of SQLite's watch).
 */
export class AppendNotifier {
  private readonly watchers = new Set<() => void>();
  private scheduled = false;

  /** Adds a watcher; the returned function removes it. */
  watch(onAppend: () => void): StorageWatch {
    const watcher = () => onAppend();
    this.watchers.add(watcher);
    return async () => {
      this.watchers.delete(watcher);
    };
  }

  /** Something was appended: wake every watcher soon (coalesced). */
  notify(): void {
    if (this.scheduled || this.watchers.size === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const watcher of this.watchers) {
        try {
          watcher();
        } catch {
          // A wake-up is a hint; a failing watcher must not break the append that triggered it.
        }
      }
    });
  }

  /** How many watchers are registered (tests check that stopping releases them). */
  get size(): number {
    return this.watchers.size;
  }

  clear(): void {
    this.watchers.clear();
  }
}
