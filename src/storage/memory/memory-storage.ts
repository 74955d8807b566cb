import { EventValidationError } from "../../errors/error-classes.js";
import { type OptionKeys, readOptions } from "../../errors/option-keys.js";
import type { Event } from "../../event/event.js";
import { showValue } from "../../event/json-value.js";
import { AppendNotifier } from "../kit/append-notifier.js";
import { withDigests } from "../kit/prune-records.js";
import { closedError } from "../kit/store-errors.js";
import type { AppendOutcome, EventStorage, NormalizedEventQuery, PruneOptions } from "../types.js";
import { MemoryLog } from "./memory-append.js";
import { memoryCheckpoints } from "./memory-checkpoints.js";
import { memoryDigests } from "./memory-digests.js";
import { getEvent, listEvents } from "./memory-list.js";
import { pruneEvents } from "./memory-prune.js";
import { memoryWebhooks } from "./memory-webhooks.js";

/**
 * Options of {@link memoryStorage}.
 *
 * @example
 * ```ts
 * const options: MemoryStorageOptions = { maxEvents: 100_000 };
 * ```
 */
export interface MemoryStorageOptions {
  /**
   * Keep at most this many events; appending past it evicts the oldest (O(1) per event). Unbounded by default.
   * A cursor naming an evicted event is unknown from then on (one naming a pruned event answers `EventGapError`).
   */
  readonly maxEvents?: number | undefined;
}

const MEMORY_OPTION_KEYS: OptionKeys<MemoryStorageOptions> = { maxEvents: true };

/**
 * The default store: events live in this process only, indexed per filter field so that a filtered `list` reads
 * O(limit) entries however many events are stored.
 *
 * @example
 * ```ts
 * const bus = new EventBus({ storage: memoryStorage({ maxEvents: 100_000 }) });
 * ```
 */
export function memoryStorage(given: MemoryStorageOptions = {}): EventStorage {
  const options = readOptions(given, MEMORY_OPTION_KEYS, "memoryStorage");
  const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  if (maxEvents !== Number.POSITIVE_INFINITY && !(Number.isInteger(maxEvents) && maxEvents >= 1)) {
    throw EventValidationError.forField("maxEvents", `must be a positive integer, got ${showValue(maxEvents)}`);
  }
  const log = new MemoryLog(maxEvents);
  const notifier = new AppendNotifier();
  let closed = false;
  const checkOpen = () => {
    if (closed) throw closedError("the memory storage");
  };

  return withDigests(memoryDigests(), {
    name: "memory",
    checkpoints: memoryCheckpoints(checkOpen),
    webhooks: memoryWebhooks(),
    async append(batch: readonly Event[]): Promise<readonly AppendOutcome[]> {
      checkOpen();
      const outcomes = log.append(batch);
      if (outcomes.includes(null)) notifier.notify();
      return outcomes;
    },
    watch: (onAppend) => notifier.watch(onAppend),
    async get(eventId: string): Promise<Event | null> {
      checkOpen();
      return getEvent(log, eventId);
    },
    async list(query: NormalizedEventQuery): Promise<Event[]> {
      checkOpen();
      return listEvents(log, query);
    },
    async prune(pruneOptions: PruneOptions): Promise<number> {
      checkOpen();
      return pruneEvents(log, pruneOptions);
    },
    async close(): Promise<void> {
      closed = true;
      notifier.clear();
      log.clear();
    },
  });
}
