/** Positions in append order that a memory `list` can walk: the whole log, or one index entry. */
export interface SeqSource {
  readonly length: number;
  /** The append sequence number at `index`; ascending in `index`. */
  at(index: number): number;
}

/**
 * A FIFO with O(1) amortised push and shift: shifted slots are reclaimed in bulk instead of moving the array on
 * every eviction.
 */
export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(index: number): T {
    return this.items[this.head + index] as T;
  }

  /** Replaces the item at `index` (counted from the head, like `at`). */
  set(index: number, item: T): void {
    this.items[this.head + index] = item;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** Binary search: the first index of `source` whose seq satisfies a predicate monotonic over the source. */
export function firstIndexWhere(source: SeqSource, predicate: (seq: number) => boolean): number {
  let low = 0;
  let high = source.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (predicate(source.at(middle))) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** A window `[low, high)` of positions of one source. */
export interface SeqWindow {
  readonly source: SeqSource;
  low: number;
  high: number;
}

/** Walks several ascending windows as one sequence, oldest first when `forward`, newest first otherwise. */
export function* mergedSeqs(windows: readonly SeqWindow[], forward: boolean): Generator<number> {
  const live = windows.filter((window) => window.low < window.high);
  while (live.length > 0) {
    let pick = 0;
    for (let index = 1; index < live.length; index++) {
      const candidate = live[index] as SeqWindow;
      const current = live[pick] as SeqWindow;
      const better = forward
        ? candidate.source.at(candidate.low) < current.source.at(current.low)
        : candidate.source.at(candidate.high - 1) > current.source.at(current.high - 1);
      if (better) pick = index;
    }
    const window = live[pick] as SeqWindow;
    if (forward) yield window.source.at(window.low++);
    else yield window.source.at(--window.high);
    if (window.low >= window.high) live.splice(pick, 1);
  }
}
