import { type EventStorage, memoryStorage } from "../../src/index.js";

/** How a {@link SwitchableStorage} answers `append`. */
export type StorageMode = "up" | "down" | "commit-then-fail";

/**
 * A real memory store whose `append` can be switched off (throws before storing) or made to store and then throw,
 * as a store does whose reply is lost after it committed. Reads always work, so tests can look at what is stored.
 */
export interface SwitchableStorage extends EventStorage {
  mode: StorageMode;
  /** Every `append` call's batch size, in call order. */
  readonly appendCalls: number[];
}

export function switchableStorage(mode: StorageMode = "up"): SwitchableStorage {
  const inner = memoryStorage();
  const storage: SwitchableStorage = {
    name: "switchable",
    mode,
    appendCalls: [],
    async append(events) {
      storage.appendCalls.push(events.length);
      if (storage.mode === "down") throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      const outcomes = await inner.append(events);
      if (storage.mode === "commit-then-fail") throw new Error("Connection terminated unexpectedly");
      return outcomes;
    },
    get: (id) => inner.get(id),
    list: (query) => inner.list(query),
    close: () => inner.close(),
  };
  return storage;
}
