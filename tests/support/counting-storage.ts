import type { EventStorage, NormalizedEventQuery } from "../../src/storage/index.js";

/** Wraps a storage: counts every `list` (split by filtered or not) and can fail reads on demand. */
export interface CountingStorage extends EventStorage {
  readonly reads: NormalizedEventQuery[];
  /** While true, every `list` rejects. */
  failing: boolean;
  /** `list` calls that have not settled yet. */
  readonly inFlight: number;
  /** Watchers currently registered through this wrapper. */
  readonly watchers: number;
}

export function countingStorage(inner: EventStorage, options: { watch?: boolean } = {}): CountingStorage {
  const reads: NormalizedEventQuery[] = [];
  let watchers = 0;
  let inFlight = 0;
  const storage: CountingStorage = {
    name: inner.name,
    reads,
    failing: false,
    get watchers() {
      return watchers;
    },
    get inFlight() {
      return inFlight;
    },
    append: (events) => inner.append(events),
    get: (id) => inner.get(id),
    list: async (query) => {
      reads.push(query);
      if (storage.failing) throw new Error("store unreachable (test)");
      inFlight++;
      try {
        return await inner.list(query);
      } finally {
        inFlight--;
      }
    },
    close: () => inner.close(),
  };
  if (options.watch !== false && inner.watch !== undefined) {
    const watch = inner.watch.bind(inner);
    (storage as { watch?: EventStorage["watch"] }).watch = (onAppend) => {
      watchers++;
      const stop = watch(onAppend);
      return async () => {
        watchers--;
        await stop();
      };
    };
  }
  return storage;
}
